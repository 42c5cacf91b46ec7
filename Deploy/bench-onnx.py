#!/usr/bin/env python3
"""ONNX Runtime peer for `plutchik bench encoder`: the same encoder on the same corpus.

What it measures: all-MiniLM-L6-v2 sentence embeddings (BERT, 6 layers, mean pooling over the
attention mask, then L2 normalisation, as sentence-transformers does) computed by ONNX Runtime on
the CPU, over the "text" fields of a JSONL corpus (default: the chitchat corpus that
Deploy/fetch-corpus.sh writes). Texts are tokenised (tokenizer.json, truncated at 128 tokens) and
padded into batches before timing; the timed part is the InferenceSession.run calls only, after a
few warm-up batches. One JSON line per order:
  {"runtime","version","order","threads","batch","messages","seconds","msgs_per_s","p50_ms","p99_ms"}
(p50/p99 are per call, i.e. per batch).

With --int8 the graph is first put through onnxruntime.quantization.quantize_dynamic(...,
weight_type=QInt8) (the one-line step a Python engineer takes next; cached beside the fp32 graph),
and each JSON line also carries the int8 embeddings' cosine to the fp32 graph's on the first 1,000
messages ("cosine_to_fp32_mean", "cosine_to_fp32_min").

Orders: arrival = batches in file order, each padded to its own longest text; sorted = texts
sorted by token count, then batched and padded the same way; batch1 = one text per call.

The ONNX graph is built here with onnx.helper from the model's safetensors (standard ops, opset 17)
and cached as $HOME/.cache/plutchik/all-MiniLM-L6-v2.onnx; it is rebuilt when the weights or this
file are newer.

Run (the wrapper makes the venv under ~/.cache/plutchik/onnx-venv):
  Deploy/bench-onnx.sh --check                          # min cosine against shared/reference/minilm-golden.json
  Deploy/bench-onnx.sh --order all --threads 1 --batch 32
  Deploy/bench-onnx.sh --order sorted --limit 2000
  Deploy/bench-onnx.sh --int8 --order all               # ORT's dynamic int8, with its cosine to fp32
"""
import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file
from tokenizers import Tokenizer

CACHE = Path.home() / ".cache" / "plutchik"
MAX_LENGTH = 128


def build_onnx(weights_path, out_path):
    """Writes the BERT encoder + masked mean pooling + L2 normalisation as an ONNX model."""
    cfg = json.loads((weights_path.parent / "config.json").read_text())
    hidden, heads, layers = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    eps, head_dim = cfg["layer_norm_eps"], cfg["hidden_size"] // cfg["num_attention_heads"]
    assert cfg["hidden_act"] == "gelu" and cfg["position_embedding_type"] == "absolute"
    w = load_file(str(weights_path))
    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, out, **attrs):
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def linear(x, prefix, out, scale=1.0):
        # PyTorch Linear weights are [out, in]; MatMul wants [in, out].
        wt = const(prefix + ".weight", w[prefix + ".weight"].T * np.float32(scale))
        b = const(prefix + ".bias", w[prefix + ".bias"] * np.float32(scale))
        return node("Add", [node("MatMul", [x, wt], out + "_mm"), b], out)

    def layer_norm(x, prefix, out):
        g, b = const(prefix + ".weight", w[prefix + ".weight"]), const(prefix + ".bias", w[prefix + ".bias"])
        return node("LayerNormalization", [x, g, b], out, axis=-1, epsilon=eps)

    # Scalars and shapes.
    one, half = const("one", np.float32(1.0)), const("half", np.float32(0.5))
    neg_big = const("neg_big", np.float32(-1e9))
    sqrt2 = const("sqrt2", np.float32(math.sqrt(2)))
    zero_1d, axis0, axis1, axis2 = (const(n, np.array(v, dtype=np.int64)) for n, v in
                                    [("zero_1d", [0]), ("axis0", [0]), ("axis1", [1]), ("axis2", [2])])
    axes_12 = const("axes_12", np.array([1, 2], dtype=np.int64))
    split_heads = const("split_heads", np.array([0, 0, heads, head_dim], dtype=np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, hidden], dtype=np.int64))

    # Embeddings: word + position + token type 0 (token types are all 0, so that row is folded into the positions).
    word = const("word_embeddings", w["embeddings.word_embeddings.weight"])
    pos_type = const("position_plus_type0", w["embeddings.position_embeddings.weight"]
                     + w["embeddings.token_type_embeddings.weight"][0])
    seq_len = node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    pos = node("Slice", [pos_type, zero_1d, seq_len, axis0], "pos")
    x = node("Add", [node("Gather", [word, "input_ids"], "word"), pos], "emb_sum")
    x = layer_norm(x, "embeddings.LayerNorm", "emb")

    # Attention bias: 0 where attended, -1e9 at padding; shape [B, 1, 1, S].
    mask = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    bias = node("Mul", [node("Sub", [one, mask], "mask_inv"), neg_big], "mask_bias_2d")
    bias = node("Unsqueeze", [bias, axes_12], "mask_bias")

    for i in range(layers):
        p = f"encoder.layer.{i}."
        # 1/sqrt(head_dim) is folded into the query projection.
        q = linear(x, p + "attention.self.query", f"l{i}_q", scale=1 / math.sqrt(head_dim))
        k = linear(x, p + "attention.self.key", f"l{i}_k")
        v = linear(x, p + "attention.self.value", f"l{i}_v")
        q = node("Transpose", [node("Reshape", [q, split_heads], f"l{i}_q4")], f"l{i}_qh", perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [k, split_heads], f"l{i}_k4")], f"l{i}_kt", perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [v, split_heads], f"l{i}_v4")], f"l{i}_vh", perm=[0, 2, 1, 3])
        scores = node("Add", [node("MatMul", [q, k], f"l{i}_qk"), bias], f"l{i}_scores")
        probs = node("Softmax", [scores], f"l{i}_probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], f"l{i}_ctxh")], f"l{i}_ctxt", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, merge_heads], f"l{i}_ctx")
        a = linear(ctx, p + "attention.output.dense", f"l{i}_attn")
        x = layer_norm(node("Add", [a, x], f"l{i}_res1"), p + "attention.output.LayerNorm", f"l{i}_ln1")
        # Feed-forward with exact (erf) GELU: 0.5 * h * (1 + erf(h / sqrt 2)).
        h = linear(x, p + "intermediate.dense", f"l{i}_ff1")
        erf = node("Erf", [node("Div", [h, sqrt2], f"l{i}_hs")], f"l{i}_erf")
        g = node("Mul", [node("Mul", [h, node("Add", [erf, one], f"l{i}_erf1")], f"l{i}_herf"), half], f"l{i}_gelu")
        f = linear(g, p + "output.dense", f"l{i}_ff2")
        x = layer_norm(node("Add", [f, x], f"l{i}_res2"), p + "output.LayerNorm", f"l{i}_ln2")

    # Mean pooling over the mask (count clamped at 1e-9), then x / max(||x||, 1e-12).
    m3 = node("Unsqueeze", [mask, axis2], "mask_3d")
    summed = node("ReduceSum", [node("Mul", [x, m3], "masked"), axis1], "summed", keepdims=0)
    count = node("Max", [node("ReduceSum", [mask, axis1], "count_raw", keepdims=1),
                         const("min_count", np.float32(1e-9))], "count")
    mean = node("Div", [summed, count], "mean")
    norm = node("Sqrt", [node("ReduceSum", [node("Mul", [mean, mean], "sq"), axis1], "sumsq", keepdims=1)], "norm_raw")
    norm = node("Max", [norm, const("min_norm", np.float32(1e-12))], "norm")
    nodes.append(helper.make_node("Div", [mean, norm], ["embedding"], name="embedding"))

    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"]) for n in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="plutchik bench-onnx")
    model.ir_version = 8
    onnx.checker.check_model(model)
    tmp = out_path.with_suffix(".onnx.tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, out_path)


def session(model_dir, threads, int8=False):
    weights = model_dir / "model.safetensors"
    path = CACHE / f"{model_dir.name}.onnx"
    newest = max(weights.stat().st_mtime, Path(__file__).stat().st_mtime)
    if not path.exists() or path.stat().st_mtime < newest:
        print(f"bench-onnx: building {path}", file=sys.stderr)
        path.parent.mkdir(parents=True, exist_ok=True)
        build_onnx(weights, path)
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantized = CACHE / f"{model_dir.name}-int8.onnx"
        if not quantized.exists() or quantized.stat().st_mtime < path.stat().st_mtime:
            print(f"bench-onnx: quantizing {quantized}", file=sys.stderr)
            quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QInt8)
        path = quantized
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def tokenizer(model_dir):
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()          # tokenizer.json pads to a fixed 128; batches are padded here instead
    tok.enable_truncation(MAX_LENGTH)
    return tok


def pad(batch_ids):
    """Right-pads token id lists to the longest one: (input_ids, attention_mask), int64 [B, S]."""
    s = max(len(t) for t in batch_ids)
    ids = np.zeros((len(batch_ids), s), dtype=np.int64)
    mask = np.zeros((len(batch_ids), s), dtype=np.int64)
    for r, t in enumerate(batch_ids):
        ids[r, :len(t)] = t
        mask[r, :len(t)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def check(sess, tok, golden_path):
    golden = json.loads(Path(golden_path).read_text())
    ids = [e.ids for e in tok.encode_batch([g["text"] for g in golden])]
    for g, t in zip(golden, ids):
        if t != g["ids"]:
            print(f"bench-onnx: token ids differ for {g['text']!r}: {t} vs {g['ids']}", file=sys.stderr)
    emb = sess.run(["embedding"], pad(ids))[0].astype(np.float64)
    ref = np.array([g["embedding"] for g in golden], dtype=np.float64)
    cos = (emb * ref).sum(1) / np.linalg.norm(emb, axis=1) / np.linalg.norm(ref, axis=1)
    ok = cos.min() >= 0.9999 and all(t == g["ids"] for g, t in zip(golden, ids))
    print(json.dumps({"check": "ok" if ok else "FAILED", "texts": len(golden), "min_cosine": float(cos.min()),
                      "max_abs_diff": float(np.abs(emb - ref).max())}))
    return ok


def cosine_to(reference, sess, ids, batch=32):
    """Mean and least cosine between `sess`'s embeddings of `ids` and `reference`'s."""
    cos = []
    for i in range(0, len(ids), batch):
        b = pad(ids[i:i + batch])
        x, y = sess.run(["embedding"], b)[0].astype(np.float64), reference.run(["embedding"], b)[0].astype(np.float64)
        cos.extend((x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1))
    return float(np.mean(cos)), float(np.min(cos))


def bench(sess, ids, order, batch, threads, warmup=3, extra=None):
    if order == "batch1":
        batch = 1
    if order == "sorted":
        ids = sorted(ids, key=len)           # stable: equal lengths stay in file order
    batches = [pad(ids[i:i + batch]) for i in range(0, len(ids), batch)]
    for b in batches[:warmup]:
        sess.run(["embedding"], b)
    latencies = []
    start = time.perf_counter()
    for b in batches:
        t0 = time.perf_counter()
        sess.run(["embedding"], b)
        latencies.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - start
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, max(0, math.ceil(p * len(latencies)) - 1))] * 1e3
    print(json.dumps({"runtime": "onnxruntime", "version": ort.__version__, "order": order, "threads": threads,
                      "batch": batch, "messages": len(ids), "seconds": round(seconds, 3),
                      "msgs_per_s": round(len(ids) / seconds, 1), "p50_ms": round(pct(0.5), 3),
                      "p99_ms": round(pct(0.99), 3), **(extra or {})}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=str(CACHE / "chitchat-8000.jsonl"), help='JSONL with a "text" field')
    ap.add_argument("--limit", type=int, default=8000, help="use at most this many messages")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1, help="ORT intra-op threads")
    ap.add_argument("--order", choices=["arrival", "sorted", "batch1", "all"], default="arrival")
    ap.add_argument("--int8", action="store_true", help="quantize the graph with ORT's quantize_dynamic (QInt8 weights) and report its cosine to fp32")
    ap.add_argument("--model-dir", default=os.environ.get("PLUTCHIK_MODEL_DIR", str(CACHE / "all-MiniLM-L6-v2")))
    ap.add_argument("--check", nargs="?", const=str(Path(__file__).resolve().parents[2] / "shared/reference/minilm-golden.json"),
                    metavar="GOLDEN_JSON", help="compare with reference embeddings (default: ../shared/reference/minilm-golden.json) and exit")
    args = ap.parse_args()
    if args.batch < 1 or args.limit < 1 or args.threads < 1:
        ap.error("--batch, --limit and --threads must be at least 1")

    model_dir = Path(args.model_dir).expanduser()
    sess, tok = session(model_dir, args.threads, int8=args.int8), tokenizer(model_dir)
    if args.check:
        sys.exit(0 if check(sess, tok, args.check) else 1)

    texts = []
    with open(args.corpus, encoding="utf-8") as f:
        for line in f:
            if len(texts) == args.limit:
                break
            if line.strip():
                texts.append(json.loads(line)["text"])
    if not texts:
        sys.exit(f"bench-onnx: {args.corpus} has no messages")
    ids = [e.ids for e in tok.encode_batch(texts)]
    extra = None
    if args.int8:
        mean, least = cosine_to(session(model_dir, args.threads), sess, ids[:1000])
        extra = {"precision": "int8 (quantize_dynamic, QInt8)", "cosine_to_fp32_mean": round(mean, 4), "cosine_to_fp32_min": round(least, 4)}
    for order in (["arrival", "sorted", "batch1"] if args.order == "all" else [args.order]):
        bench(sess, ids, order, args.batch, args.threads, extra=extra)


if __name__ == "__main__":
    main()
