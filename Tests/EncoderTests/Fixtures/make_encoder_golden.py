#!/usr/bin/env python3
"""Writes encoder-golden.json: token ids (reference `tokenizers`) and all-MiniLM-L6-v2
sentence embeddings from a float64 numpy forward pass over model.safetensors.

Usage: python3 make_encoder_golden.py [MODEL_DIR]   (pip install numpy tokenizers==0.23.3)
MODEL_DIR defaults to $PLUTCHIK_MODEL_DIR or ~/.cache/plutchik/all-MiniLM-L6-v2.
If ../shared/reference/minilm-golden.json exists (dev machines), the numpy reference is
checked against its sentence-transformers embeddings first.
"""
import json, math, os, struct, sys
from pathlib import Path
import numpy as np
from tokenizers import Tokenizer

HERE = Path(__file__).resolve().parent
MODEL_DIR = Path(sys.argv[1] if len(sys.argv) > 1 else
                 os.environ.get("PLUTCHIK_MODEL_DIR", Path.home() / ".cache/plutchik/all-MiniLM-L6-v2"))
DTYPES = {"F32": np.float32, "I64": np.int64}


def load_safetensors(path):
    raw = Path(path).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(raw[base + b:base + end], dtype=DTYPES[e["dtype"]]).reshape(e["shape"])
    return out


W = {k: v.astype(np.float64) for k, v in load_safetensors(MODEL_DIR / "model.safetensors").items()}
H, D = 12, 32


def layer_norm(x, g, b, eps=1e-12):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g + b


def erf(x):
    return np.vectorize(math.erf)(x)


def encode(ids):
    t = len(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:t] \
        + W["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"])
    for l in range(6):
        p = f"encoder.layer.{l}."
        lin = lambda a, name: a @ W[p + name + ".weight"].T + W[p + name + ".bias"]
        q, k, v = (lin(x, "attention.self." + n).reshape(t, H, D).transpose(1, 0, 2) for n in ("query", "key", "value"))
        s = q @ k.transpose(0, 2, 1) / math.sqrt(D)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(t, H * D)
        x = layer_norm(x + lin(ctx, "attention.output.dense"),
                       W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"])
        hdn = lin(x, "intermediate.dense")
        hdn = 0.5 * hdn * (1 + erf(hdn / math.sqrt(2)))
        x = layer_norm(x + lin(hdn, "output.dense"), W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"])
    e = x.mean(0)
    return e / max(np.linalg.norm(e), 1e-12)


tok = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
tok.no_padding()
tok.enable_truncation(128)

ref = HERE.parents[2] / ".." / "shared" / "reference" / "minilm-golden.json"
if ref.exists():
    worst = 0.0
    for g in json.loads(ref.read_text()):
        assert tok.encode(g["text"]).ids == g["ids"], g["text"]
        worst = max(worst, float(np.abs(encode(g["ids"]) - np.array(g["embedding"])).max()))
    print(f"numpy reference vs sentence-transformers ({ref.name}): max abs diff {worst:.3g}")

LONG = ("The customer called three times about the same broken router, and each time the agent "
        "promised a technician visit that never happened, so now they are asking for a full refund, "
        "a written apology from the regional manager, compensation for the days without internet, "
        "and a guarantee that this will never happen again, otherwise they will cancel the contract, "
        "post reviews everywhere, and contact the consumer protection agency about the whole affair. ")
SENTENCES = [
    "", " ", "ok", "Thanks!", "no.", "What?!", "I'm fine, thank you.",
    "I am absolutely furious, this is the third time my order was cancelled!",
    "Could you please check the status of ticket #48213 for me?",
    "lol that's hilarious 😂😂😂",
    "I love this so much ❤️🎉🎉",
    "ugh... whatever. 🙄",
    "Café crème brûlée à la carte, s'il vous plaît.",
    "Naïve façade coöperation — résumé",
    "这个产品真的很好用，谢谢！",
    "日本語のテキストも大丈夫ですか？",
    "Привет, как дела?",
    "مرحبا كيف حالك",
    "Visit https://example.com/support?id=123&lang=en or mail help@example.org",
    "Your refund of $1,234.56 was processed on 2024-03-15 at 14:07 UTC.",
    "SHOUTING IN ALL CAPS BECAUSE NOTHING WORKS",
    "wait wait wait wait wait wait wait wait wait wait",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "Oh great, another outage. Just what I needed today.",
    "Yeah, right, because that always works.",
    "I guess it's fine... I mean, it's not like I had plans or anything.",
    "Please escalate this to a supervisor immediately.",
    "Thank you so much for your patience and understanding!",
    "My package hasn't arrived yet, can you check?",
    "The app crashes every time I open the settings page on Android 14.",
    "\tTabs\tand\nnewlines\r\nin text",
    "a" * 150,
    "Hmm 🤔 not sure about that, maybe?",
    "!!!???...",
    "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
    LONG,
    LONG * 3,
    " ".join(["word"] * 60) + " end",
    "I've been waiting on hold for 45 minutes and nobody has picked up. This is unacceptable; I want my money back and I want it today.",
    "Best. Service. Ever. (not)",
    "Great job team, the new release fixed everything we complained about last week!",
    "I'm scared my account was hacked, I see logins from another country.",
]

cases = []
for s in SENTENCES:
    ids = tok.encode(s).ids
    cases.append({"text": s, "ids": ids, "embedding": [round(float(v), 7) for v in encode(ids)]})
out = HERE / "encoder-golden.json"
out.write_text(json.dumps(cases, ensure_ascii=False, separators=(",", ":")) + "\n")
lens = sorted(len(c["ids"]) for c in cases)
print(f"wrote {out.name}: {len(cases)} sentences, token lengths {lens[0]}..{lens[-1]}, {out.stat().st_size} bytes")
