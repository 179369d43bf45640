#!/usr/bin/env python3
"""Builds test/fixtures/tiny-mlm: a tiny random BERT masked-LM (BertForMaskedLM layout), exported
to ONNX, for the augmentation tests and benchmark.

The model is written by hand in PyTorch (no `transformers` here): embeddings, post-LayerNorm
encoder layers, and the MLM head (dense -> gelu -> LayerNorm -> decoder tied to the word
embeddings, plus a bias). Output `logits` [batch, sequence, vocab], as a Hugging Face BERT MLM
export. The vocabulary is data/demo/vocab.txt when it exists (so the fixture speaks the demo's
vocabulary), else a small built-in one.

The folder gets config.json, vocab.txt, tokenizer_config.json, onnx/model.onnx and reference.json
(torch's top pieces at the masked position of two inputs, to check the ONNX path against).

Run:  /usr/bin/python3 scripts/make_tiny_mlm_onnx.py   (needs python3-torch, python3-onnx)
Benchmark models (not committed) of another size or vocabulary:
      /usr/bin/python3 scripts/make_tiny_mlm_onnx.py --out /tmp/mlm-base --vocab ../shared/vocab/bert-base-uncased-vocab.txt \
          --hidden 256 --layers 4 --heads 4 --intermediate 1024 --max-positions 512
"""
import argparse
import json
import math
import os
import sys

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "tiny-mlm")
DEMO_VOCAB = os.path.join(ROOT, "data", "demo", "vocab.txt")

CONFIG = {
    "architectures": ["BertForMaskedLM"],
    "model_type": "bert",
    "vocab_size": 0,  # set from the vocabulary
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "layer_norm_eps": 1e-12,
    "initializer_range": 0.02,
    "pad_token_id": 0,
}

WORDS = (
    "the a an and or but not no is was are were be it this that i you he she we they of in on at to for with "
    "movie film story plot acting actor actress director script scene music ending character cast "
    "good great bad awful fun boring love hate best worst funny sad dull clever smart silly charming "
    "moving touching brilliant terrible wonderful beautiful ugly slow fast long short new old "
    "work show play watch make makes made feel feels seen see look looks"
).split()


def load_vocab(path=None):
    path = path or (DEMO_VOCAB if os.path.exists(DEMO_VOCAB) else None)
    if path:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f if line.rstrip("\n")], path
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(".,!?'-")
    vocab += [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab += ["##" + chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab += [w for w in WORDS if w not in vocab]
    return vocab, "built-in"


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, self.heads = c["hidden_size"], c["num_attention_heads"]
        self.q, self.k, self.v, self.o = (nn.Linear(h, h) for _ in range(4))
        self.ln1 = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.ff1 = nn.Linear(h, c["intermediate_size"])
        self.ff2 = nn.Linear(c["intermediate_size"], h)
        self.ln2 = nn.LayerNorm(h, eps=c["layer_norm_eps"])

    def forward(self, x, ext_mask):
        b, l, h = x.shape
        d = h // self.heads
        split = lambda t: t.view(b, l, self.heads, d).permute(0, 2, 1, 3)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + ext_mask, dim=-1)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(b, l, h)
        a = self.ln1(self.o(ctx) + x)
        return self.ln2(self.ff2(nn.functional.gelu(self.ff1(a))) + a)


class BertForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.word = nn.Embedding(c["vocab_size"], h)
        self.pos = nn.Embedding(c["max_position_embeddings"], h)
        self.types = nn.Embedding(c["type_vocab_size"], h)
        self.ln = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.head_dense = nn.Linear(h, h)
        self.head_ln = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.head_bias = nn.Parameter(torch.zeros(c["vocab_size"]))

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        x = self.ln(self.word(input_ids) + self.pos(positions) + self.types(token_type_ids))
        ext = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        for layer in self.layers:
            x = layer(x, ext)
        y = self.head_ln(nn.functional.gelu(self.head_dense(x)))
        return y @ self.word.weight.t() + self.head_bias  # decoder tied to the word embeddings


def masked_row(vocab, words, masked):
    """[CLS] words-with-[MASK] [SEP] words [SEP] with segment ids 0 / 1 (TinyBERT's MLM input)."""
    ids = [vocab.index(w) for w in words]
    a = [vocab.index("[CLS]")] + ids + [vocab.index("[SEP]")]
    a[masked + 1] = vocab.index("[MASK]")
    full = a + ids + [vocab.index("[SEP]")]
    return full, [0] * len(a) + [1] * (len(ids) + 1), masked + 1


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=OUT, help="output folder (default: the committed fixture)")
    ap.add_argument("--vocab", help="vocab.txt to use (default: data/demo/vocab.txt, else built-in)")
    ap.add_argument("--hidden", type=int, default=CONFIG["hidden_size"])
    ap.add_argument("--layers", type=int, default=CONFIG["num_hidden_layers"])
    ap.add_argument("--heads", type=int, default=CONFIG["num_attention_heads"])
    ap.add_argument("--intermediate", type=int, default=CONFIG["intermediate_size"])
    ap.add_argument("--max-positions", type=int, default=CONFIG["max_position_embeddings"])
    return ap.parse_args()


def main():
    args = parse_args()
    out_dir = args.out
    vocab, source = load_vocab(args.vocab)
    c = dict(CONFIG, vocab_size=len(vocab), hidden_size=args.hidden, num_hidden_layers=args.layers,
             num_attention_heads=args.heads, intermediate_size=args.intermediate,
             max_position_embeddings=args.max_positions)
    torch.manual_seed(4321)
    model = BertForMaskedLM(c)
    # Large random weights: the logits spread widely, so top-k orders have no near-ties.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln" in name:
                p.copy_(1.0 + 0.1 * torch.randn_like(p) if name.endswith("weight") else 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    model.eval()

    os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": c["max_position_embeddings"],
                   "tokenizer_class": "BertTokenizer"}, f, indent=2)
        f.write("\n")

    # Reference: torch's top-10 pieces at the mask of two rows, run separately (no padding).
    common = [w for w in ("the", "movie", "was", "good", "and", "fun") if w in vocab]
    reference = []
    for masked in (1, 3):
        ids, types, pos = masked_row(vocab, common, masked)
        with torch.no_grad():
            out = model(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.int64), torch.tensor([types]))
        top = torch.argsort(out[0, pos], descending=True)[:10].tolist()
        reference.append({"words": common, "maskedWord": masked, "inputIds": ids, "tokenTypeIds": types,
                          "maskPos": pos, "top10": top, "top10Logits": out[0, pos, top].tolist()})
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump({"vocabSource": os.path.relpath(os.path.abspath(source), ROOT) if source != "built-in" else source,
                   "rows": reference}, f, indent=1)
        f.write("\n")

    ids = torch.tensor([reference[0]["inputIds"]])
    torch.onnx.export(
        model,
        (ids, torch.ones_like(ids), torch.tensor([reference[0]["tokenTypeIds"]])),
        os.path.join(out_dir, "onnx", "model.onnx"),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["logits"],
        dynamic_axes={name: {0: "batch_size", 1: "sequence_length"}
                      for name in ("input_ids", "attention_mask", "token_type_ids", "logits")},
        opset_version=14,
        do_constant_folding=True,
    )
    print(f"wrote {out_dir} (vocabulary {len(vocab)} from {source})", file=sys.stderr)


if __name__ == "__main__":
    main()
