#!/usr/bin/env python3
"""Writes tokenizer-fixture.jsonl: varied texts with the reference WordPiece ids.

The reference is the PyPI `tokenizers` package (tested with 0.23.3) loading the
model's tokenizer.json, with padding off and truncation at 128 tokens, which is
how all-MiniLM-L6-v2 is run. The texts are generated here with a fixed seed, so
re-running the script with the same tokenizers version gives the same file.

    python3 -m pip install tokenizers==0.23.3
    PLUTCHIK_MODEL_DIR=~/.cache/plutchik/all-MiniLM-L6-v2 \
        python3 Tests/TokenizerTests/Fixtures/make_tokenizer_fixture.py
"""

import json
import os
import random
import sys
import unicodedata

from tokenizers import Tokenizer

SEED = 20240603
MAX_LENGTH = 128

WORDS = """
i you we they he she it me my your our this that what why how when where who
love hate angry sad happy glad sorry thanks thank please help refund order
delivery late again never always seriously literally honestly amazing awful
terrible great fine okay ok lol omg wtf idk tbh brb ugh yay hmm wow really
account password reset broken crash app update support agent manager ticket
waiting hours days week customer service unacceptable disappointed excited
frustrated furious delighted worried anxious calm surprised disgusted trust
fear joy anticipation sadness anger surprise disgust don't can't won't it's
i'm you're they've we'll shouldn't y'all gonna wanna gotta kinda sorta
unbelievable antidisestablishmentarianism pneumonoultramicroscopic
transformers tokenization preprocessing misunderstanding reimbursement
""".split()

EMOJI = [
    "\U0001F600", "\U0001F602", "\U0001F62D", "\U0001F621", "\U0001F44D",
    "\U0001F44D\U0001F3FD", "\U0001F44B\U0001F3FF", "\u2764\ufe0f", "\u2764",
    "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466",
    "\U0001F469\U0001F3FB\u200d\U0001F4BB", "\U0001F3F3\ufe0f\u200d\U0001F308",
    "\U0001F1FA\U0001F1F8", "\U0001F1EF\U0001F1F5", "\U0001F1E9\U0001F1EA",
    "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F",
    "1\ufe0f\u20e3", "#\ufe0f\u20e3", "\u263a\ufe0f", "\U0001F972", "\U0001FAE0",
    "\U0001F9D1\u200d\U0001F91d\u200d\U0001F9D1", "\u270C\U0001F3FC", "\U0001F525",
    "\U0001F4AF", "\U0001F64F", "\U0001F926\u200d\u2642\ufe0f", "\u2122", "\u00a9",
]

ACCENTED = [
    "café", "naïve", "résumé", "Crème brûlée", "jalapeño", "Ångström", "Zoë",
    "straße", "Ärger", "Übermut", "Öl", "São Paulo", "Łódź", "Dvořák", "İstanbul",
    "ıi", "ΣΊΣΥΦΟΣ", "Ὀδυσσεύς", "Tiếng Việt có dấu", "ﬁnancial ﬂow", "Ǆemal",
    "e\u0301te\u0301", "n\u0303", "a\u0308\u0301", "x\u0336y\u0336", "Å", "Ω", "K",
]

SCRIPTS = [
    "我今天很生气，因为快递又迟到了！", "谢谢你的帮助", "這個產品太棒了", "今日はとても嬉しいです。",
    "カタカナとひらがな", "안녕하세요, 감사합니다", "정말 화가 나요", "مرحبا، كيف حالك؟",
    "أنا غاضب جداً", "שָׁלוֹם עֲלֵיכֶם", "Привет, как дела?", "Я очень расстроен!!!",
    "ЁЖИК В ТУМАНЕ", "नमस्ते, आप कैसे हैं?", "मुझे बहुत गुस्सा आ रहा है", "สวัสดีครับ",
    "Γειά σου κόσμε", "Բարեւ", "გამარჯობა", "ሰላም", "𠀀𠀁𪜀𫝀𬺰", "〇一二三", "각",
    "Ελληνικά ΣΣΣ ς", "ꦧꦱꦗꦮ", "ܫܠܡܐ", "ⴰⵣⵓⵍ", "ᚠᚢᚦ", "𝐇𝐞𝐥𝐥𝐨 𝓌𝑜𝓇𝓁𝒹", "ｆｕｌｌｗｉｄｔｈ！",
]

URLS = [
    "https://example.com/orders/12345?status=late&ref=email#top",
    "http://www.Support-Desk.co.uk/Help", "ftp://files.example.org/a_b-c.txt",
    "www.amazon.com/gp/your-account", "support@example.com", "First.Last+tag@sub.domain.io",
    "@customer_care", "#NeverAgain", "#SoHappy2024", "C:\\Users\\me\\file.txt",
    "user:pass@host:8080/path", "mailto:x@y.z", "https://пример.рф/путь",
]

SPECIAL = [
    "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]", "[mask]", "[Mask]", "[CLS", "CLS]",
    "[[SEP]]", "[MASK][MASK]", "x[UNK]y", "[ CLS ]", "[MASKED]", "[SEP ]",
    "[MASK]\u0301", "e[CLS]\u0301x", "a\u0301[SEP]b", "[SEP]\u200d\U0001F468", "é[PAD]é",
]

ODD = [
    "\x00", "\x01", "\x07", "\x1b[31m", "\x7f", "\x0b", "\x0c", "\x1c", "\x1f", "\x85",
    "\ufffd", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e",
    "\u2028", "\u2029", "\u00a0", "\u1680", "\u2003", "\u3000", "\u180e", "\t", "\n",
    "\r\n", "\r", "\ue000", "\U000F0000", "\U000E0001", "\u0378", "\u0890", "\U0001D165",
]

PUNCT = [
    "!!!", "???", "?!?!", "...", "…", "!!!!!!!!!!!!!!!!", "--", "—", "–", "''", '""',
    "“quoted”", "‘single’", "«guillemets»", "‹›", "„low“", "(parens)", "[brackets]",
    "{braces}", "<tags>", "~~~", "^_^", ":-)", ":(", ";)", ":'(", "<3", "</3", "¯\\_(ツ)_/¯",
    "$100", "€50", "£", "¥", "%", "&", "*", "+", "=", "|", "`", "@", "#", "¿Qué?", "¡Hola!",
    "·", "•", "※", "§", "¶", "†", "‰", "′", "″", "〈〉", "【】", "「」", "、。", "，", "！",
]

NUMBERS = [
    "0", "42", "3.14159", "1,000,000", "-17", "+1 (555) 010-9999", "10:30pm", "2024-06-03",
    "1st", "2nd", "3rd", "100%", "½", "²", "①", "Ⅻ", "٣٤٥", "१२३", "0x1F600", "1e-9", "007",
]

# Characters whose Unicode category changed after Unicode 8.0, the version of the
# reference's character tables, plus a few characters added after it.
CATEGORY_CHANGES = [
    "\u166d", "\u1734", "\u1885", "\u1886", "\ua9bd", "\U000111c9", "\U0001171e",
    "\u2e43", "\u08d4", "\u1dfb", "\U00011438", "\U0001144b", "\u0d00", "\u2e50",
]


def word(rng):
    w = rng.choice(WORDS)
    r = rng.random()
    if r < 0.1:
        return w.upper()
    if r < 0.25:
        return w.capitalize()
    if r < 0.3:
        return "".join(c.upper() if rng.random() < 0.5 else c for c in w)
    return w


def sentence(rng, n_words):
    parts = []
    for _ in range(n_words):
        r = rng.random()
        if r < 0.07:
            parts.append(rng.choice(EMOJI))
        elif r < 0.11:
            parts.append(rng.choice(PUNCT))
        elif r < 0.14:
            parts.append(rng.choice(NUMBERS))
        else:
            parts.append(word(rng))
    text = " ".join(parts)
    return text + rng.choice(["", ".", "!", "?", "!!", " :)", "...", " 😡", "?!"])


def mix(rng, pools, n):
    seps = [" ", " ", " ", "", "\t", "\n", "  ", "\u00a0"]
    return "".join(rng.choice(rng.choice(pools)) + rng.choice(seps) for _ in range(n))


def random_codepoints(rng, n, categories=None):
    out = []
    while len(out) < n:
        plane = rng.random()
        if plane < 0.7:
            cp = rng.randrange(0x80, 0x10000)
        elif plane < 0.95:
            cp = rng.randrange(0x10000, 0x30000)
        else:
            cp = rng.randrange(0xE0000, 0x110000)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if categories and unicodedata.category(c) not in categories:
            continue
        out.append(c)
    return out


def long_word(rng, n, alphabet="abcdefghijklmnopqrstuvwxyz"):
    return "".join(rng.choice(alphabet) for _ in range(n))


def texts():
    rng = random.Random(SEED)
    out = [
        "", " ", "   ", "\t", "\n", "\r\n", " \t\n\r\u00a0\u3000\u2003 ", "\u200b", "\x00",
        "\ufffd\ufffd", "Hello, world!", "hello world", "HELLO WORLD", "I'm so angry right now!!!",
        "a" * 100, "a" * 101, "é" * 100, "é" * 101, "e\u0301" * 100, "e\u0301" * 101,
        "ab" * 60, "x" * 500, "😀" * 101, "我" * 200,
        "The quick brown fox jumps over the lazy dog. " * 20,
        "word " * 126, "word " * 127, "word " * 128, "hi! " * 70,
    ]
    out += EMOJI + ACCENTED + SCRIPTS + URLS + SPECIAL + ODD + PUNCT + NUMBERS + CATEGORY_CHANGES
    out += ["a" + c + "b" for c in ODD + CATEGORY_CHANGES]
    out += ["hello " + s + " world" for s in SPECIAL]

    # Chat-like turns of varied length, some longer than 128 tokens.
    for _ in range(450):
        out.append(sentence(rng, rng.choice([1, 2, 3, 5, 8, 12, 20, 30, 60, 150])))
    # Mixtures of everything.
    pools = [WORDS, EMOJI, ACCENTED, SCRIPTS, URLS, SPECIAL, ODD, PUNCT, NUMBERS]
    for _ in range(250):
        out.append(mix(rng, pools, rng.randrange(1, 25)))
    # Long words around the 100-character limit, some with marks, some glued to punctuation.
    for _ in range(60):
        n = rng.choice([98, 99, 100, 101, 102, 150, 300])
        w = long_word(rng, n, rng.choice(["abcdefghijklmnopqrstuvwxyz", "ABCdef", "éèêaeo",
                                          "аб", "λμ", "ab\u0301"]))
        out.append(rng.choice(["", "see: ", "ok "]) + w + rng.choice(["", "!", " end", "."]))
    # Random code points, one by one and in runs, from the categories the rules depend on.
    for _ in range(120):
        out.append("".join(random_codepoints(rng, rng.randrange(1, 12))))
    for cats in (["Mn", "Mc", "Me"], ["Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"],
                 ["Cc", "Cf", "Co", "Cn", "Zs", "Zl", "Zp"], ["Lu", "Lt", "Ll"],
                 ["So", "Sk", "Sm", "Sc"]):
        for _ in range(30):
            cs = random_codepoints(rng, rng.randrange(1, 8), set(cats))
            out.append("x" + " y".join(cs) + rng.choice(["", "z", "Z"]))
    # Characters with canonical decompositions (Hangul, precomposed letters, singletons).
    decomposable = [chr(c) for c in range(0x80, 0x30000)
                    if not 0xD800 <= c <= 0xDFFF and unicodedata.decomposition(chr(c))
                    and not unicodedata.decomposition(chr(c)).startswith("<")]
    for _ in range(60):
        out.append("".join(rng.choice(decomposable) for _ in range(rng.randrange(1, 10))))
    return out


def main():
    model_dir = os.environ.get("PLUTCHIK_MODEL_DIR",
                               os.path.expanduser("~/.cache/plutchik/all-MiniLM-L6-v2"))
    tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_LENGTH)

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "tokenizer-fixture.jsonl")
    items = texts()
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for text, encoding in zip(items, tokenizer.encode_batch(items)):
            f.write(json.dumps({"text": text, "ids": encoding.ids}, ensure_ascii=False) + "\n")
    print(f"wrote {len(items)} texts to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
