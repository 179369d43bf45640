#!/usr/bin/env python3
"""Builds the encoder compatibility fixtures (test/fixtures/encoders/): tiny random-weight models made
with the real Hugging Face classes, each exported the ways users export them, with PyTorch's own
outputs beside them.

Families: BERT, BERT with untouched (identical) LayerNorm parameters, DistilBERT, RoBERTa (byte-level
BPE), XLM-R (Unigram), ELECTRA (embedding projection), ALBERT (shared layers, factorised embeddings),
MiniLM (BERT-shaped, 384 wide, 12 heads), DeBERTa-v2 (relative attention).

Exports per family (file names inside the family folder):
  ts14.onnx, ts17.onnx   torch.onnx.export(dynamo=False) at opset 14 / 17 (TorchScript exporter)
  dynamo.onnx            torch.onnx.export(dynamo=True) (onnxscript)
and, for BERT, ts17-inputs.onnx (int32 ids, float32 mask, fixed shape, unnamed logits output) and
onnxruntime's transformer optimizer on ts17.onnx:
  ort-fused.onnx         optimize_model(model_type="bert") at its defaults (Attention fused)
  ort-noattn.onnx        the same with attention fusion off (--disable_attention)
  ort-level1.onnx        onnxruntime offline optimisation, level 1 (basic)
  ort-level99.onnx       onnxruntime offline optimisation, level 99 (all)
and bert-legacy-mask: test/fixtures/tiny-bert-opset17 (classic additive mask, which onnxruntime's attention
fusion recognises; transformers 5's mask is not fused) through optimize_model with and without attention fusion.
An exporter that fails on a family is recorded in manifest.json with its error, not hidden. Node debug
metadata (Python stacks) is stripped from the exports to keep them small. MiniLM gets one export (384 wide).

Each family folder also holds config.json, the tokenizer files save_pretrained writes, and
reference.json: the fixed input batch, logits, output_hidden_states, output_attentions (the
probabilities), the tokenizer's ids on the tricky strings of scripts/tokenizer_reference.py (single
and pairs), and the family's special-token layout.

Run from the repository root (about a minute):
    .venv/bin/python scripts/make_encoder_fixtures.py [family ...]
"""
import importlib.util
import json
import os
import shutil
import sys
import traceback
import warnings

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "encoders")

spec = importlib.util.spec_from_file_location("tokref", os.path.join(ROOT, "scripts", "tokenizer_reference.py"))
tokref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tokref)
TRICKY = tokref.CASES

WORDS = (
    "the a an and or but not no is was are were be been it this that these those i you he she we they "
    "movie film story plot acting good great bad awful fun boring love hate best worst very really "
    "so too more most less one two some all of in on at to for with by from as"
).split()
CORPUS = [
    " ".join(WORDS[i:i + 9]) for i in range(0, len(WORDS), 3)
] + [
    "The movie was not good, but the acting was great!",
    "I really hate this boring film.",
    "Best story ever? No, the worst plot of all.",
] + TRICKY


def wordpiece_tokenizer(lowercase=True):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(".,!?'-")
    vocab += [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["##" + chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab += [w for w in WORDS if w not in vocab]
    return transformers.BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=lowercase)


def bpe_tokenizer(cls_name):
    """A byte-level BPE tokenizer trained on the fixture corpus, with RoBERTa's special tokens."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=360, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
                                                       trim_offsets=True, add_prefix_space=False)
    return cls_name(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
                    unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")


def unigram_tokenizer(specials, template, lowercase, vocab_size=220):
    """A SentencePiece-style Unigram tokenizer (Metaspace) trained on the fixture corpus."""
    tok = Tokenizer(models.Unigram())
    norms = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    tok.normalizer = normalizers.Sequence(norms)
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=list(specials.values()),
                                      unk_token=specials["unk"], show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    cls, sep = specials["cls"], specials["sep"]
    single, pair = template
    tok.post_processor = processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=[(cls, tok.token_to_id(cls)), (sep, tok.token_to_id(sep))])
    return tok


def xlmr_tokenizer():
    specials = {"cls": "<s>", "pad": "<pad>", "sep": "</s>", "unk": "<unk>", "mask": "<mask>"}
    tok = unigram_tokenizer(specials, ("<s> $A </s>", "<s> $A </s> </s> $B </s>"), lowercase=False)
    return transformers.XLMRobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                                cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")


def spm_bert_style_tokenizer(cls_name, lowercase):
    specials = {"pad": "<pad>", "unk": "<unk>", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
    tok = unigram_tokenizer(specials, ("[CLS]:0 $A:0 [SEP]:0", "[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1"), lowercase=lowercase)
    return cls_name(tokenizer_object=tok, cls_token="[CLS]", sep_token="[SEP]", unk_token="<unk>", pad_token="<pad>",
                    mask_token="[MASK]")


def common(vocab_size, **kw):
    base = dict(vocab_size=vocab_size, num_labels=3, id2label={0: "negative", 1: "neutral", 2: "positive"},
                label2id={"negative": 0, "neutral": 1, "positive": 2}, attn_implementation="eager")
    base.update(kw)
    return base


def bert_like(hidden=32, heads=4, layers=2, inter=64, positions=64):
    return dict(hidden_size=hidden, num_attention_heads=heads, num_hidden_layers=layers, intermediate_size=inter,
                max_position_embeddings=positions)


def make_family(name):
    """(model, tokenizer, input names) for one family, random weights, eval mode."""
    t = transformers
    if name in ("bert", "bert-untrained", "minilm"):
        tok = wordpiece_tokenizer()
        dims = bert_like(384, 12, 1, 64, 32) if name == "minilm" else bert_like()
        cfg = t.BertConfig(**common(tok.vocab_size, **dims))
        return t.BertForSequenceClassification(cfg), tok, ["input_ids", "attention_mask", "token_type_ids"]
    if name == "distilbert":
        tok = wordpiece_tokenizer()
        cfg = t.DistilBertConfig(**common(tok.vocab_size, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                                          max_position_embeddings=64))
        return t.DistilBertForSequenceClassification(cfg), tok, ["input_ids", "attention_mask"]
    if name == "roberta":
        tok = bpe_tokenizer(t.RobertaTokenizerFast)
        cfg = t.RobertaConfig(**common(len(tok), **bert_like(), pad_token_id=1, bos_token_id=0, eos_token_id=2,
                                       type_vocab_size=1))
        cfg.max_position_embeddings = 66  # 64 positions after the padding_idx + 1 offset
        return t.RobertaForSequenceClassification(cfg), tok, ["input_ids", "attention_mask"]
    if name == "xlm-roberta":
        tok = xlmr_tokenizer()
        cfg = t.XLMRobertaConfig(**common(len(tok), **bert_like(), pad_token_id=tok.pad_token_id,
                                          bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id, type_vocab_size=1))
        cfg.max_position_embeddings = 64 + tok.pad_token_id + 1
        return t.XLMRobertaForSequenceClassification(cfg), tok, ["input_ids", "attention_mask"]
    if name == "electra":
        tok = wordpiece_tokenizer()
        cfg = t.ElectraConfig(**common(tok.vocab_size, **bert_like(), embedding_size=16))
        return t.ElectraForSequenceClassification(cfg), tok, ["input_ids", "attention_mask", "token_type_ids"]
    if name == "albert":
        tok = spm_bert_style_tokenizer(t.AlbertTokenizerFast, lowercase=True)
        cfg = t.AlbertConfig(**common(len(tok), **bert_like(), embedding_size=16, num_hidden_groups=1,
                                      pad_token_id=tok.pad_token_id, hidden_act="gelu_new",
                                      classifier_dropout_prob=0.1))
        return t.AlbertForSequenceClassification(cfg), tok, ["input_ids", "attention_mask", "token_type_ids"]
    if name == "deberta-v2":
        tok = spm_bert_style_tokenizer(t.DebertaV2TokenizerFast, lowercase=False)
        cfg = t.DebertaV2Config(**common(len(tok), **bert_like(), pad_token_id=tok.pad_token_id, relative_attention=True,
                                         position_buckets=16, max_relative_positions=-1, pos_att_type=["p2c", "c2p"],
                                         position_biased_input=False, norm_rel_ebd="layer_norm", share_att_key=True,
                                         type_vocab_size=0, pooler_hidden_size=32))
        return t.DebertaV2ForSequenceClassification(cfg), tok, ["input_ids", "attention_mask", "token_type_ids"]
    raise SystemExit(f"unknown family {name}")


FAMILIES = ["bert", "bert-untrained", "minilm", "distilbert", "roberta", "xlm-roberta", "electra", "albert", "deberta-v2"]


def randomise(model, name):
    """Larger-than-default random weights so attention is not uniform and mistakes show."""
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            is_norm = "LayerNorm" in pname or "layer_norm" in pname or "norm" in pname.split(".")[-2].lower()
            if is_norm:
                if name == "bert-untrained":
                    continue  # default ones / zeros in every LayerNorm: torch de-duplicates them into Identity nodes
                p.copy_((1.0 if pname.endswith("weight") else 0.0) + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
    model.eval()


def reference_batch(tok, inputs):
    texts = [("The movie was not good, but the acting was great!", "I really hate this boring film."),
             ("Best story ever?", None), ("fun", None)]
    a = [x[0] for x in texts]
    b = [x[1] for x in texts]
    rows = [tok(x, y, return_token_type_ids=True) for x, y in zip(a, b)]
    seq = max(len(r["input_ids"]) for r in rows)
    batch = {k: torch.zeros(len(rows), seq, dtype=torch.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
    batch["input_ids"][:] = tok.pad_token_id
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        batch["input_ids"][i, :n] = torch.tensor(r["input_ids"])
        batch["attention_mask"][i, :n] = 1
        batch["token_type_ids"][i, :n] = torch.tensor(r.get("token_type_ids", [0] * n))
    return texts, {k: v for k, v in batch.items() if k in inputs}, [len(r["input_ids"]) for r in rows]


def rounded(t):
    return [round(float(x), 6) for x in t.reshape(-1).tolist()], list(t.shape)


def strip_debug_info(path):
    """The dynamo exporter stores each node's Python stack and module path (two thirds of the file)."""
    import onnx
    m = onnx.load(path)
    for n in m.graph.node:
        del n.metadata_props[:]
        n.doc_string = ""
    onnx.save(m, path)


def tokenizer_reference(tok):
    cases = []
    for i, text in enumerate(TRICKY):
        other = TRICKY[(i + 7) % len(TRICKY)]
        single = tok(text)["input_ids"]
        pair = tok(text, other, return_token_type_ids=True)
        cases.append({"text": text, "pairWith": other, "ids": tok(text, add_special_tokens=False)["input_ids"],
                      "single": single, "pair": pair["input_ids"], "pairTypes": pair.get("token_type_ids")})
    return cases


def export(model, args, names, path, how, opset=None):
    dyn_axes = {n: {0: "batch", 1: "sequence"} for n in names}
    dyn_axes["logits"] = {0: "batch"}
    if how == "dynamo":
        batch = torch.export.Dim("batch", min=1, max=64)
        seq = torch.export.Dim("sequence", min=2, max=60)
        shapes = (tuple({0: batch, 1: seq} for _ in names),)  # forward(*args): one varargs entry
        prog = torch.onnx.export(model, args, dynamo=True, input_names=names,
                                 output_names=["logits"], dynamic_shapes=shapes, verbose=False)
        prog.save(path)
    else:
        torch.onnx.export(model, args, path, input_names=names, output_names=["logits"], dynamic_axes=dyn_axes,
                          opset_version=opset, do_constant_folding=True, dynamo=False)


class LogitsOnly(torch.nn.Module):
    def __init__(self, model, names):
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *args):
        return self.model(**dict(zip(self.names, args))).logits


class GraphInputsVariant(torch.nn.Module):
    """int32 ids and token types, a float attention mask, as some exporters and runtimes write them."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.model(input_ids=input_ids.long(), attention_mask=attention_mask, token_type_ids=token_type_ids.long()).logits


def export_graph_inputs(model, batch, inputs, path):
    """ts17-inputs: int32 ids, float32 mask, a fixed [3, L + 2] shape and no output names (torch numbers
    the logits output), the input shapes users bring from fixed-shape and mobile exports."""
    pad = 2
    ids = torch.nn.functional.pad(batch["input_ids"], (0, pad), value=0).to(torch.int32)
    mask = torch.nn.functional.pad(batch["attention_mask"], (0, pad)).to(torch.float32)
    types = torch.nn.functional.pad(batch["token_type_ids"], (0, pad)).to(torch.int32)
    torch.onnx.export(GraphInputsVariant(model).eval(), (ids, mask, types), path, input_names=inputs, opset_version=17,
                      do_constant_folding=True, dynamo=False)
    return {"exporter": "torchscript", "opset": 17, "inputs": "int32 ids, float32 mask, fixed [3, %d], unnamed output" % ids.shape[1],
            "bytes": os.path.getsize(path)}


def ort_variants(folder, cfg_heads, cfg_hidden):
    """onnxruntime's transformer optimizer (attention fusion finds nothing in transformers 5 graphs, so
    --disable_attention would write the same file and is made only when fusion happened) and the
    session's offline optimisation at levels 1 and 99."""
    import onnxruntime as ort
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model
    src = os.path.join(folder, "ts17.onnx")
    done = {}
    for label, disable_attention in (("ort-fused", False), ("ort-noattn", True)):
        if disable_attention and "Attention" not in done["ort-fused"]["ops"]:
            continue  # attention fusion found nothing to fuse: the second file would be the same
        opts = FusionOptions("bert")
        if disable_attention:
            opts.enable_attention = False
        m = optimize_model(src, model_type="bert", num_heads=cfg_heads, hidden_size=cfg_hidden, optimization_options=opts)
        m.save_model_to_file(os.path.join(folder, f"{label}.onnx"))
        done[label] = {"tool": "onnxruntime.transformers.optimizer.optimize_model", "model_type": "bert",
                       "enable_attention": not disable_attention, "ops": sorted(set(n.op_type for n in m.model.graph.node))}
    for level, enum in ((1, ort.GraphOptimizationLevel.ORT_ENABLE_BASIC), (99, ort.GraphOptimizationLevel.ORT_ENABLE_ALL)):
        so = ort.SessionOptions()
        so.graph_optimization_level = enum
        so.optimized_model_filepath = os.path.join(folder, f"ort-level{level}.onnx")
        ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
        done[f"ort-level{level}"] = {"tool": "onnxruntime.SessionOptions.optimized_model_filepath", "level": level}
    return done


def build(name):
    torch.manual_seed(0)
    model, tok, inputs = make_family(name)
    randomise(model, name)
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    model.config.save_pretrained(folder)
    tok.model_max_length = 64
    tok.save_pretrained(folder)
    # Keep only what a user's folder has; the slow-tokenizer files are written where the class can.
    for extra in ("special_tokens_map.json",):
        if os.path.exists(os.path.join(folder, extra)):
            os.remove(os.path.join(folder, extra))

    texts, batch, lengths = reference_batch(tok, inputs)
    with torch.no_grad():
        out = model(**batch, output_hidden_states=True, output_attentions=True)
    ref = {
        "family": name, "transformers": transformers.__version__, "torch": torch.__version__,
        "inputNames": inputs, "texts": texts, "lengths": lengths,
        "batch": {k: v.tolist() for k, v in batch.items()},
        "logits": rounded(out.logits), "hidden": [rounded(h) for h in out.hidden_states],
        "attentions": [rounded(a) for a in out.attentions],
        "specials": {"cls": tok.cls_token_id, "sep": tok.sep_token_id, "pad": tok.pad_token_id,
                     "unk": tok.unk_token_id, "mask": tok.mask_token_id},
        "tokenizer": tokenizer_reference(tok),
    }
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(ref, f, ensure_ascii=False, separators=(",", ":"))

    wrapped = LogitsOnly(model, inputs).eval()
    args = tuple(batch[n] for n in inputs)
    exports = {}
    plan = [("ts14", "torchscript", 14), ("ts17", "torchscript", 17), ("dynamo", "dynamo", None)]
    if name == "minilm":
        plan = [("ts17", "torchscript", 17)]  # 384 wide: one export keeps the fixtures small
    for label, how, opset in plan:
        path = os.path.join(folder, f"{label}.onnx")
        try:
            export(wrapped, args, inputs, path, how, opset)
            strip_debug_info(path)
            exports[label] = {"exporter": how, "opset": opset, "bytes": os.path.getsize(path)}
        except Exception as e:  # recorded, so the matrix says which exporter fails on which family
            exports[label] = {"exporter": how, "opset": opset, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}
            traceback.print_exc(limit=2)
            if os.path.exists(path):
                os.remove(path)
    if name == "bert":
        exports["ts17-inputs"] = export_graph_inputs(model, batch, inputs, os.path.join(folder, "ts17-inputs.onnx"))
        exports.update(ort_variants(folder, model.config.num_attention_heads, model.config.hidden_size))
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump({"family": name, "exports": exports}, f, indent=1)
        f.write("\n")
    print(f"{name}: " + ", ".join(f"{k}={'ok' if 'error' not in v else 'FAILED'}" for k, v in exports.items()), file=sys.stderr)


def build_legacy_mask():
    """onnxruntime's optimizer fuses attention only in graphs with the classic additive mask
    ((1 - mask) * min, transformers 4 and earlier); test/fixtures/tiny-bert-opset17 has it. Its
    fully fused and --disable_attention forms, with its PyTorch outputs in this folder's format."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model
    src = os.path.join(ROOT, "test", "fixtures", "tiny-bert-opset17")
    folder = os.path.join(OUT, "bert-legacy-mask")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for f in ("config.json", "vocab.txt", "tokenizer_config.json"):
        shutil.copy(os.path.join(src, f), folder)
    with open(os.path.join(src, "reference.json")) as f:
        old = json.load(f)
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    vocab = open(os.path.join(src, "vocab.txt")).read().split("\n")[:-1]
    tok = transformers.BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True)
    t = lambda x: torch.tensor(x, dtype=torch.float64)
    ref = {
        "family": "bert-legacy-mask", "source": "test/fixtures/tiny-bert-opset17 (scripts/make_tiny_bert_onnx.py)",
        "inputNames": ["input_ids", "attention_mask", "token_type_ids"], "texts": [], "lengths": old["lengths"],
        "batch": {"input_ids": old["inputIds"], "attention_mask": old["attentionMask"], "token_type_ids": old["tokenTypeIds"]},
        "logits": rounded(t(old["logits"])), "hidden": [rounded(t(h)) for h in old["hidden"]],
        "attentions": [rounded(t(a)) for a in old["attentionProbs"]],
        "specials": {"cls": tok.cls_token_id, "sep": tok.sep_token_id, "pad": tok.pad_token_id,
                     "unk": tok.unk_token_id, "mask": tok.mask_token_id},
        "tokenizer": tokenizer_reference(tok),
    }
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(ref, f, ensure_ascii=False, separators=(",", ":"))
    exports = {}
    for label, disable_attention in (("ort-fused", False), ("ort-noattn", True)):
        opts = FusionOptions("bert")
        opts.enable_attention = not disable_attention
        m = optimize_model(os.path.join(src, "onnx", "model.onnx"), model_type="bert", num_heads=cfg["num_attention_heads"],
                           hidden_size=cfg["hidden_size"], optimization_options=opts)
        m.save_model_to_file(os.path.join(folder, f"{label}.onnx"))
        exports[label] = {"tool": "onnxruntime.transformers.optimizer.optimize_model", "model_type": "bert",
                          "enable_attention": not disable_attention, "ops": sorted(set(n.op_type for n in m.model.graph.node))}
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump({"family": "bert-legacy-mask", "exports": exports}, f, indent=1)
        f.write("\n")
    print("bert-legacy-mask: " + ", ".join(exports), file=sys.stderr)


def main():
    names = sys.argv[1:] or FAMILIES + ["bert-legacy-mask"]
    for n in names:
        if n == "bert-legacy-mask":
            build_legacy_mask()
        else:
            build(n)


if __name__ == "__main__":
    main()
