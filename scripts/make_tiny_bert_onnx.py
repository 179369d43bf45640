#!/usr/bin/env python3
"""Builds the tiny BERT teacher fixtures used by test/teacher and test/cache.

A BertForSequenceClassification-shaped model written by hand in PyTorch (there is no `transformers`
package here) with Hugging Face's module names, so the ONNX initializer names look like a real
export's. Random weights, exported with torch.onnx.export at opset 14 (LayerNorm decomposed into
ReduceMean/Sub/Pow/Sqrt/Div) and opset 17 (fused LayerNormalization op).

Each fixture folder gets config.json, vocab.txt, tokenizer_config.json, onnx/model.onnx and
reference.json: torch's outputs for a few fixed inputs (logits, hidden states, attention scores
before softmax with the additive mask applied, probabilities) and fingerprints of every parameter
in the student's naming and tfjs layout ([in, out] dense kernels).

Run:  /usr/bin/python3 scripts/make_tiny_bert_onnx.py   (needs python3-torch, python3-onnx)
"""
import json
import math
import os
import sys

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "test", "fixtures")

CONFIG = {
    "architectures": ["BertForSequenceClassification"],
    "model_type": "bert",
    "vocab_size": 0,  # set from the vocabulary below
    "hidden_size": 32,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 40,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "layer_norm_eps": 1e-12,
    "initializer_range": 0.02,
    "pad_token_id": 0,
    "num_labels": 2,
    "problem_type": "single_label_classification",
    "id2label": {"0": "negative", "1": "positive"},
    "label2id": {"negative": 0, "positive": 1},
}

WORDS = (
    "the a an and or but not no is was are were be been it this that these those i you he she we they "
    "movie film story plot acting good great bad awful fun boring love hate best worst very really "
    "so too more most less one two some all of in on at to for with by from as"
).split()


def make_vocab():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += list(".,!?'-")
    vocab += [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab += ["##" + chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab += [w for w in WORDS if w not in vocab]
    return vocab


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c["pad_token_id"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.register_buffer("position_ids", torch.arange(c["max_position_embeddings"]).expand((1, -1)))

    def forward(self, input_ids, token_type_ids):
        seq_length = input_ids.size(1)
        position_ids = self.position_ids[:, :seq_length]
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        x = x + self.position_embeddings(position_ids)
        return self.LayerNorm(x)


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c["num_attention_heads"]
        self.head_size = c["hidden_size"] // self.heads
        self.query = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.key = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.value = nn.Linear(c["hidden_size"], c["hidden_size"])

    def split(self, x):
        b, l, _ = x.size()
        return x.view(b, l, self.heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, x, extended_mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size)
        scores = scores + extended_mask
        probs = nn.functional.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        b, l = ctx.size(0), ctx.size(1)
        return ctx.view(b, l, self.heads * self.head_size), scores, probs


class SelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, h, residual):
        return self.LayerNorm(self.dense(h) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = SelfOutput(c)

    def forward(self, x, mask):
        ctx, scores, probs = self.self(x, mask)
        return self.output(ctx, x), scores, probs


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

    def forward(self, x):
        return nn.functional.gelu(self.dense(x))


class Output(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["intermediate_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, h, residual):
        return self.LayerNorm(self.dense(h) + residual)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = Output(c)

    def forward(self, x, mask):
        a, scores, probs = self.attention(x, mask)
        return self.output(self.intermediate(a), a), scores, probs


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])


class Pooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        self.pooler = Pooler(c)


class BertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = Bert(c)
        self.classifier = nn.Linear(c["hidden_size"], c["num_labels"])

    def forward_all(self, input_ids, attention_mask, token_type_ids):
        # Hugging Face's extended attention mask: (1 - mask) * most negative float, added to scores.
        ext = attention_mask[:, None, None, :].to(torch.float32)
        ext = (1.0 - ext) * torch.finfo(torch.float32).min
        h = self.bert.embeddings(input_ids, token_type_ids)
        hidden, scores, probs = [h], [], []
        for layer in self.bert.encoder.layer:
            h, s, p = layer(h, ext)
            hidden.append(h)
            scores.append(s)
            probs.append(p)
        logits = self.classifier(self.bert.pooler(h))
        return logits, hidden, scores, probs

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.forward_all(input_ids, attention_mask, token_type_ids)[0]


def tfjs_layout_params(model, c):
    """Parameters under the student's names (no "bert." prefix), dense kernels as [in, out]."""
    out = {}
    for name, p in model.state_dict().items():
        if name.endswith("position_ids"):
            continue
        student = name[len("bert."):] if name.startswith("bert.") else name
        t = p.detach().clone()
        dense = student.endswith(".weight") and "LayerNorm" not in student and not student.startswith("embeddings.")
        if dense:
            t = t.t().contiguous()
        out[student] = t
    return out


def fingerprint(t):
    flat = t.reshape(-1).double()
    idx = torch.arange(flat.numel(), dtype=torch.float64)
    weights = (idx % 7) - 3  # position-sensitive, so a transposed or shuffled tensor gives another value
    return {
        "shape": list(t.shape),
        "sum": float(flat.sum()),
        "weightedSum": float((flat * weights).sum()),
        "first": [float(x) for x in flat[:6]],
    }


def reference_inputs(vocab_size):
    # Three rows of different real lengths (8, 5, 3) in one padded batch: padding to the right.
    g = torch.Generator().manual_seed(7)
    lengths = [8, 5, 3]
    seq = max(lengths)
    ids = torch.zeros(len(lengths), seq, dtype=torch.int64)
    mask = torch.zeros(len(lengths), seq, dtype=torch.int64)
    types = torch.zeros(len(lengths), seq, dtype=torch.int64)
    for r, n in enumerate(lengths):
        body = torch.randint(5, vocab_size, (n - 2,), generator=g)
        ids[r, :n] = torch.cat([torch.tensor([2]), body, torch.tensor([3])])
        mask[r, :n] = 1
        if r == 0:
            types[r, 4:n] = 1  # a sentence pair: second segment has type 1
    return ids, mask, types, lengths


def tolist(t):
    return t.detach().double().tolist()


def main():
    vocab = make_vocab()
    c = dict(CONFIG)
    c["vocab_size"] = len(vocab)
    torch.manual_seed(1234)
    model = BertForSequenceClassification(c)
    # Bigger-than-default weights so attention is not uniform and errors show up in the comparisons.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name:
                p.copy_(1.0 + 0.1 * torch.randn_like(p) if name.endswith("weight") else 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
    model.eval()

    ids, mask, types, lengths = reference_inputs(c["vocab_size"])
    with torch.no_grad():
        logits, hidden, scores, probs = model.forward_all(ids, mask, types)

    reference = {
        "inputIds": ids.tolist(),
        "attentionMask": mask.tolist(),
        "tokenTypeIds": types.tolist(),
        "lengths": lengths,
        "logits": tolist(logits),
        "hidden": [tolist(h) for h in hidden],
        # Only the real block of each row is compared; masked entries hold about -3.4e38.
        "attentionScores": [tolist(s) for s in scores],
        "attentionProbs": [tolist(p) for p in probs],
        "params": {k: fingerprint(v) for k, v in tfjs_layout_params(model, c).items()},
    }

    for opset in (14, 17):
        folder = os.path.join(FIXTURES, f"tiny-bert-opset{opset}")
        os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(c, f, indent=2)
            f.write("\n")
        with open(os.path.join(folder, "vocab.txt"), "w") as f:
            f.write("\n".join(vocab) + "\n")
        with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
            json.dump({"do_lower_case": True, "model_max_length": c["max_position_embeddings"],
                       "tokenizer_class": "BertTokenizer"}, f, indent=2)
            f.write("\n")
        onnx_path = os.path.join(folder, "onnx", "model.onnx")
        torch.onnx.export(
            model,
            (ids, mask, types),
            onnx_path,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch_size", 1: "sequence_length"},
                "attention_mask": {0: "batch_size", 1: "sequence_length"},
                "token_type_ids": {0: "batch_size", 1: "sequence_length"},
                "logits": {0: "batch_size"},
            },
            opset_version=opset,
            do_constant_folding=True,
        )
        with open(os.path.join(folder, "reference.json"), "w") as f:
            json.dump(reference, f)
        print(f"wrote {folder}", file=sys.stderr)


if __name__ == "__main__":
    main()
