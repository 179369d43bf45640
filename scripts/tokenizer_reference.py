"""Reference token ids for the tokenizer parity test (test/data/tokenizer-parity.test.ts).

An independent implementation of the original BERT tokenization algorithm (BasicTokenizer followed
by WordpieceTokenizer, as described in Google's BERT release), written from the algorithm's
description, with no tokenizer library. It writes test/fixtures/tokenizer-reference.json.

Run from the repository root:
    /usr/bin/python3 scripts/tokenizer_reference.py [path/to/vocab.txt]
(default vocabulary: ../shared/vocab/bert-base-uncased-vocab.txt)
"""

import hashlib
import json
import os
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_VOCAB = os.path.join(ROOT, "..", "shared", "vocab", "bert-base-uncased-vocab.txt")
OUT = os.path.join(ROOT, "test", "fixtures", "tokenizer-reference.json")

# CJK ideograph blocks that BERT isolates as single-character words.
CJK_RANGES = [
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
]


def is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(ch):
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def clean(text):
    out = []
    for ch in text:
        if ord(ch) in (0, 0xFFFD) or is_control(ch):
            continue
        out.append(" " if is_whitespace(ch) else ch)
    return "".join(out)


def strip_accents(text):
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def split_punctuation(word):
    pieces, current = [], ""
    for ch in word:
        if is_punctuation(ch):
            if current:
                pieces.append(current)
                current = ""
            pieces.append(ch)
        else:
            current += ch
    if current:
        pieces.append(current)
    return pieces


def basic_tokenize(text, lowercase=True):
    text = clean(text)
    text = "".join(" " + ch + " " if is_cjk(ch) else ch for ch in text)
    words = []
    for word in text.split():
        if lowercase:
            word = strip_accents(word.lower())
        words.extend(split_punctuation(word))
    return " ".join(words).split()


def wordpiece(word, vocab, unk="[UNK]", max_chars=100):
    chars = list(word)
    if len(chars) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(chars):
        end, found = len(chars), None
        while start < end:
            candidate = "".join(chars[start:end])
            if start > 0:
                candidate = "##" + candidate
            if candidate in vocab:
                found = candidate
                break
            end -= 1
        if found is None:
            return [unk]
        pieces.append(found)
        start = end
    return pieces


def tokenize(text, vocab):
    return [piece for word in basic_tokenize(text) for piece in wordpiece(word, vocab)]


CASES = [
    "Hello, World!",
    "",
    "   \t\n  ",
    "HeLLo WoRLD and UPPER case",
    "Café déjà vu, naïve coöperation, Ångström, Straße, São Paulo",
    "e\u0301 (decomposed accent) and \u00e9 (composed)",
    "İstanbul ΣΟΦΙΑ ΟΔΟΣ. Привет, мир!",
    "我爱北京天安门",
    "日本語のテキストとカタカナ",
    "한국어 문장입니다",
    "mixed中文and english文字",
    "wait...what?!?! --- ### $$$ (((nested))) [brackets] {braces} <angle>",
    "“curly quotes” ‘single’ — em-dash – en-dash … ellipsis «guillemets» ¿Qué? ¡Sí!",
    "I ❤️ 🍕 so much 😀😀 👩‍👩‍👧 👍🏽",
    "x² + y² = z², ½ ¼, ™ © ®, ℡ ﬁ ligature",
    "3.14159 1,000,000 42nd 10:30pm $5.99 50% #hashtag @user e-mail@example.com",
    "don't won't it's y'all rock'n'roll",
    "unaffable antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 100,
    "a" * 101,
    "supercalifragilistic" * 5 + " end",
    "control\u0000chars\u0007here\u001b[0m tab\there cr\rlf\nend",
    "\ufeffbom\u200bzero\u200dwidth\u00adsoft hyphen",
    "no\u00a0break\u3000ideographic\u2003em\u2028line\u2029para space",
    "replacement \ufffd char",
    "https://example.com/path?query=1&x=y#frag",
    "The quick brown fox jumps over the lazy dog. " * 3,
    "tl;dr: it's 'fine' -- really!!!",
    "Ελληνικά עברית العربية हिन्दी ไทย",
    "\u0301\u0301 lone combining marks",
]


def main():
    vocab_file = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_VOCAB
    with open(vocab_file, "rb") as f:
        raw = f.read()
    tokens = [line.strip() for line in raw.decode("utf-8").split("\n")]
    while tokens and tokens[-1] == "":
        tokens.pop()
    vocab = {t: i for i, t in enumerate(tokens)}
    cases = []
    for text in CASES:
        pieces = tokenize(text, vocab)
        cases.append({"text": text, "tokens": pieces, "ids": [vocab[p] for p in pieces]})
    out = {
        "generator": "scripts/tokenizer_reference.py",
        "vocab": os.path.basename(vocab_file),
        "vocabSha256": hashlib.sha256(raw).hexdigest(),
        "cases": cases,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
