"""Does fine-tuning the encoder help the text-only emotion figure? A probe, not the product.

Trains a linear 32-way head over the mean-pooled output of all-MiniLM-L6-v2 on the Plutchik
train split with every emoji removed, and prints val macro-F1 after each epoch. The top
`--layers` encoder layers are trained too: fully (`--rank 0`) or through rank-`--rank` LoRA
deltas on their six matrices. Single turns, unless `--context` gives the head the previous
turn's frozen embedding and a speaker-change flag; so it measures what the encoder's fine-tuning
is worth, not what the shipped heads score.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install jax tokenizers safetensors scikit-learn
    /tmp/venv/bin/python Experiments/finetune_probe.py --layers 6 --rank 0 --lr 4e-5 --epochs 9

The figures from it are in the README's model card. JAX is used here only because the probe
needs reverse mode through the encoder, which the Swift trainer does not have yet.
"""
import argparse, json, os, time, unicodedata

import jax, jax.numpy as jnp, numpy as np
from safetensors.numpy import load_file
from sklearn.metrics import f1_score
from tokenizers import Tokenizer

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="../shared/data/plutchik")
ap.add_argument("--model", default=os.path.expanduser("~/.cache/plutchik/all-MiniLM-L6-v2"))
ap.add_argument("--layers", type=int, default=2, help="top encoder layers trained (0 = frozen)")
ap.add_argument("--rank", type=int, default=0, help="LoRA rank; 0 trains the layers' weights")
ap.add_argument("--lr", type=float, default=5e-5, help="learning rate of the encoder's parameters")
ap.add_argument("--head-lr", type=float, default=1e-3)
ap.add_argument("--epochs", type=int, default=12)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--context", action="store_true",
                help="the head also reads the previous turn's frozen embedding and a speaker-change flag")
args = ap.parse_args()


def is_emoji(c):
    o = ord(c)
    return (unicodedata.category(c) == "So" and o >= 0x203C) or 0x1F000 <= o <= 0x1FAFF \
        or 0x2600 <= o <= 0x27BF or o in (0x200D, 0xFE0F)


def strip(text):
    return " ".join("".join(c for c in text if not is_emoji(c)).split())


def read(name):
    return [json.loads(line) for line in open(os.path.join(args.data, name))]


train, val = read("train.jsonl"), read("val.jsonl")
classes = sorted({r["emotion"] for r in train + val})
y_train = np.array([classes.index(r["emotion"]) for r in train])
y_val = np.array([classes.index(r["emotion"]) for r in val])
W = load_file(os.path.join(args.model, "model.safetensors"))
tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
tok.enable_truncation(128)

# --- the encoder -------------------------------------------------------------------------

NAMES = dict(q="attention.self.query", k="attention.self.key", v="attention.self.value",
             o="attention.output.dense", i="intermediate.dense", f="output.dense")


def layer_params(n):
    e = f"encoder.layer.{n}."
    p = {k: jnp.array(W[e + v + ".weight"]) for k, v in NAMES.items()}
    p |= {k + "b": jnp.array(W[e + v + ".bias"]) for k, v in NAMES.items()}
    for k, v in dict(l1="attention.output.LayerNorm", l2="output.LayerNorm").items():
        p[k + "g"], p[k + "b"] = jnp.array(W[e + v + ".weight"]), jnp.array(W[e + v + ".bias"])
    return p


LAYERS = [layer_params(n) for n in range(6)]


def layer_norm(x, g, b):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / jnp.sqrt(v + 1e-12) * g + b


def layer(p, x, mask):  # x (B, T, C), mask (B, T)
    B, T, C = x.shape
    H, d = 12, C // 12
    heads = lambda w: (x @ p[w].T + p[w + "b"]).reshape(B, T, H, d).transpose(0, 2, 1, 3)
    a = heads("q") @ heads("k").transpose(0, 1, 3, 2) / np.sqrt(d)
    a = jax.nn.softmax(a + (1 - mask)[:, None, None, :] * -1e4, -1)
    o = (a @ heads("v")).transpose(0, 2, 1, 3).reshape(B, T, C)
    x = layer_norm(x + o @ p["o"].T + p["ob"], p["l1g"], p["l1b"])
    h = jax.nn.gelu(x @ p["i"].T + p["ib"], approximate=False)
    return layer_norm(x + h @ p["f"].T + p["fb"], p["l2g"], p["l2b"])


FROZEN = 6 - args.layers
CONTEXT = 385 if args.context else 0


def encode(ids, mask, layers):  # ids (B, T) -> (B, T, C)
    x = jnp.array(W["embeddings.word_embeddings.weight"])[ids]
    x = x + W["embeddings.position_embeddings.weight"][: ids.shape[1]] + W["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"])
    for n in range(layers):
        x = layer(LAYERS[n], x, mask)
    return x


frozen_part = jax.jit(lambda ids, mask: encode(ids, mask, FROZEN))
frozen_pooled = jax.jit(lambda ids, mask: (encode(ids, mask, 6) * mask[..., None]).sum(1) / mask.sum(1, keepdims=True))


def cache(rows):
    """The frozen layers' output (N, T, C), its mask (N, T) and the context features (N, CONTEXT)."""
    ids = [tok.encode(strip(r["text"])).ids for r in rows]
    X = np.zeros((len(ids), max(map(len, ids))), np.int32)
    M = np.zeros(X.shape, np.float32)
    for n, s in enumerate(ids):
        X[n, : len(s)], M[n, : len(s)] = s, 1
    batches = lambda f: np.concatenate([np.array(f(X[s : s + 64], M[s : s + 64])) for s in range(0, len(X), 64)])
    H = batches(frozen_part)
    context = np.zeros((len(rows), CONTEXT), np.float32)
    if args.context:
        pooled = batches(frozen_pooled)
        for n in range(1, len(rows)):
            if rows[n]["dialogue_id"] == rows[n - 1]["dialogue_id"]:
                context[n, :384] = pooled[n - 1]
                context[n, 384] = float(rows[n]["speaker"] != rows[n - 1]["speaker"])
    return H, M, context


# --- the probe ---------------------------------------------------------------------------

rng = np.random.default_rng(args.seed)
scale = 16.0 / max(args.rank, 1)


def trained_layer(P, n):
    base = LAYERS[FROZEN + n]
    if args.rank == 0:
        return P["layers"][n]
    return base | {k: base[k] + scale * (B @ A) for k, (A, B) in P["lora"][n].items()}


def logits(P, h, mask, context, key=None):  # h (B, T, C), context (B, CONTEXT) -> (B, 32)
    for n in range(args.layers):
        h = layer(trained_layer(P, n), h, mask)
    pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    pooled = jnp.concatenate([pooled, context], 1)
    if key is not None:
        pooled = pooled * jax.random.bernoulli(key, 0.9, pooled.shape) / 0.9
    return pooled @ P["W"] + P["b"]


counts = np.bincount(y_train, minlength=len(classes))
class_weight = jnp.array(len(y_train) / (len(classes) * np.maximum(counts, 1)), jnp.float32)


def loss(P, h, mask, context, y, key):
    nll = -jax.nn.log_softmax(logits(P, h, mask, context, key))[jnp.arange(len(y)), y]
    return (nll * class_weight[y]).sum() / class_weight[y].sum()


def lora(w):
    fan_in = w.shape[1]
    return jnp.array(rng.normal(0, fan_in**-0.5, (args.rank, fan_in)), jnp.float32), jnp.zeros((w.shape[0], args.rank))


P = dict(
    layers=[LAYERS[FROZEN + n] for n in range(args.layers)] if args.rank == 0 else [],
    lora=[{k: lora(LAYERS[0][k]) for k in NAMES} for _ in range(args.layers)] if args.rank else [],
    W=jnp.array(rng.normal(0, 0.02, (384 + CONTEXT, len(classes))), jnp.float32),
    b=jnp.zeros(len(classes)),
)
LR = dict(layers=jax.tree.map(lambda _: args.lr, P["layers"]), lora=jax.tree.map(lambda _: args.lr, P["lora"]),
          W=args.head_lr, b=args.head_lr)
DECAY = jax.tree.map(lambda lr: 0.0, LR) | dict(layers=jax.tree.map(lambda _: 0.01, P["layers"]),
                                                 lora=jax.tree.map(lambda _: 0.01, P["lora"]))


@jax.jit
def step(P, m, v, t, h, mask, context, y, key):  # AdamW; weight decay 0.01 on the encoder's parameters
    value, g = jax.value_and_grad(loss)(P, h, mask, context, y, key)
    m = jax.tree.map(lambda a, b: 0.9 * a + 0.1 * b, m, g)
    v = jax.tree.map(lambda a, b: 0.999 * a + 0.001 * b * b, v, g)
    update = lambda p, a, b, lr, decay: p - lr * (a / (1 - 0.9**t) / (jnp.sqrt(b / (1 - 0.999**t)) + 1e-8) + decay * p)
    return jax.tree.map(update, P, m, v, LR, DECAY), m, v, value


predict = jax.jit(logits)
start = time.time()
H_train, M_train, C_train = cache(train)
H_val, M_val, C_val = cache(val)
m, v = jax.tree.map(jnp.zeros_like, P), jax.tree.map(jnp.zeros_like, P)
key, t = jax.random.PRNGKey(args.seed), 0
for epoch in range(args.epochs):
    order, total = rng.permutation(len(y_train)), 0.0
    for s in range(0, len(order), 32):
        idx = order[s : s + 32]
        T = int(M_train[idx].sum(1).max())
        key, k = jax.random.split(key)
        t += 1
        P, m, v, value = step(P, m, v, t, H_train[idx, :T], M_train[idx, :T], C_train[idx], y_train[idx], k)
        total += float(value)
    pred = np.concatenate([np.array(predict(P, H_val[s : s + 64], M_val[s : s + 64], C_val[s : s + 64])).argmax(1)
                           for s in range(0, len(y_val), 64)])
    print(json.dumps(dict(epoch=epoch + 1, train_loss=round(total, 2), val_macro_f1=round(f1_score(y_val, pred, average="macro"), 4),
                          val_accuracy=round(float((pred == y_val).mean()), 4), seconds=round(time.time() - start))), flush=True)
