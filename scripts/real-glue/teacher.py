"""Real-data teachers for distill-ts: genuine Hugging Face BERT models trained with PyTorch, exported
with torch.onnx.export to the folder layout a user's own export has (config.json, tokenizer files,
onnx/model.onnx). Python is used here to make teachers only; the toolkit never needs it.

  split     a seeded held-out slice of the GLUE train split (where checkpoints are chosen).
  corpus    unlabeled English for pre-training: the text of every task's train and test splits (never the
            reported dev splits) and, when the Debian package wordnet-base is installed, WordNet's
            glosses and usage examples.
  pretrain  BertForMaskedLM from scratch on that corpus (BERT's 80/10/10 masking, sentences packed into
            max-length sequences as segment pairs), saved with save_pretrained: the --init of finetune.
  finetune  BertForSequenceClassification (regression head for STS-B) on <data>/train.tsv, the
            checkpoint chosen on <data>/dev.tsv (a held-out slice of the GLUE train split), the chosen
            one scored once on the real GLUE dev split, then exported to ONNX and checked against
            PyTorch with onnxruntime.

  ensemble  the dev metric of several exported teachers together (mean of their class probabilities, or
            of their outputs for regression), as the toolkit's multi-teacher "mean" combines them.

All are resumable: a killed run continues from <work>/latest.pt; a finished one (summary.json) is kept.

  .venv/bin/python scripts/real-glue/teacher.py split --task sst2 --glue ../shared/glue --out D --holdout 1000
  .venv/bin/python scripts/real-glue/teacher.py finetune --task sst2 --data D --glue ../shared/glue \
      --vocab V --work W --out O
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from glue_data import TASKS, glue_dir, metric, read_split  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def save_atomic(obj, path: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json_atomic(path: str, obj) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def tokenizer_for(vocab: str, max_length: int, work: str):
    """BERT uncased WordPiece over the given vocab.txt. (transformers 5 ignores a bare vocab_file argument and
    builds an empty vocabulary, so the tokenizer is loaded from a folder holding the file, as from a hub copy.)"""
    import shutil

    from transformers import BertTokenizer

    folder = os.path.join(work, "tokenizer")
    os.makedirs(folder, exist_ok=True)
    shutil.copyfile(vocab, os.path.join(folder, "vocab.txt"))
    tok = BertTokenizer.from_pretrained(folder, do_lower_case=True, model_max_length=max_length)
    probe = tok("the movie")["input_ids"]
    if tok.unk_token_id in probe or len(tok) != sum(1 for _ in open(vocab, encoding="utf-8")):
        raise SystemExit(f"tokenizer from {vocab} is not the expected WordPiece vocabulary (got ids {probe})")
    return tok


def bert_config(args, **extra):
    from transformers import BertConfig

    return BertConfig(vocab_size=args.vocab_size, hidden_size=args.hidden, num_hidden_layers=args.layers,
                      num_attention_heads=args.heads, intermediate_size=args.ffn, max_position_embeddings=args.max_length,
                      hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, **extra)


def lr_at(step: int, total: int, peak: float, warmup: float) -> float:
    """Linear warm-up to the peak, then linear decay to 0 (BERT's schedule)."""
    w = max(1, int(total * warmup))
    return peak * (step + 1) / w if step < w else peak * max(0.0, (total - step) / max(1, total - w))


def optimizer_for(model, lr: float, wd: float):
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "LayerNorm" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "LayerNorm" not in n)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}], lr=lr)


def length_batches(lengths: list[int], batch: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length (sorted within chunks of 50 batches): less padding, still random."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    chunk = batch * 50
    out = []
    for i in range(0, len(idx), chunk):
        part = sorted(idx[i:i + chunk], key=lambda j: lengths[j])
        out += [part[k:k + batch] for k in range(0, len(part), batch)]
    rng.shuffle(out)
    return out


def pad(rows: list[list[int]], value: int = 0) -> torch.Tensor:
    n = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (n - len(r)) for r in rows], dtype=torch.long)


# ----------------------------------------------------------------------------------------------- split

def split(args) -> None:
    """<out>/train.tsv: the GLUE train split minus a seeded held-out slice; <out>/dev.tsv: that slice.

    Rows are copied byte for byte (header kept), so the toolkit reads the folder as the same task; the
    held-out slice is where teachers and students choose their checkpoint, never on the reported dev split.
    """
    src = os.path.join(glue_dir(args.glue, args.task), "train.tsv")
    with open(src, encoding="utf-8", newline="") as f:
        lines = [l for l in f.read().split("\n") if l.strip()]
    header = [lines.pop(0)] if TASKS[args.task][1] else []
    size = args.holdout if args.holdout >= 1 else int(round(len(lines) * args.holdout))
    held = set(random.Random(args.seed).sample(range(len(lines)), int(size)))
    os.makedirs(args.out, exist_ok=True)
    for name, rows in (("train.tsv", [l for i, l in enumerate(lines) if i not in held]),
                       ("dev.tsv", [l for i, l in enumerate(lines) if i in held])):
        tmp = os.path.join(args.out, f"{name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write("\n".join(header + rows) + "\n")
        os.replace(tmp, os.path.join(args.out, name))
    log(f"split {args.task}: {len(lines) - len(held)} train, {len(held)} held out for selection -> {args.out}")



# ----------------------------------------------------------------------------------------------- corpus

WORDNET = "/usr/share/wordnet"


def wordnet_lines(folder: str) -> list[str]:
    """One line per synset: its words, then the gloss (definition; usage examples), as plain English."""
    out = []
    for pos in ("noun", "verb", "adj", "adv"):
        path = os.path.join(folder, f"data.{pos}")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue  # the licence header
                head, gloss = line.split("|", 1)
                fields = head.split()
                count = int(fields[3], 16)
                words = [fields[4 + 2 * i].replace("_", " ") for i in range(count)]
                words = [w.split("(")[0] for w in words]
                out.append(f"{', '.join(words)}: {gloss.strip()}")
    return out


def corpus(args) -> None:
    """<out>: one sentence per line, deduplicated, in a seeded random order."""
    if os.path.exists(args.out):
        log(f"corpus: {args.out} exists; kept")
        return
    lines: list[str] = []
    for task in TASKS:
        for split_name in ("train", "test"):
            path = os.path.join(glue_dir(args.glue, task), f"{split_name}.tsv")
            if not os.path.exists(path):
                continue
            for e in read_split(task, path, labelled=split_name != "test"):
                lines += [t for t in (e.a, e.b) if t]
    glue_count = len(lines)
    wn = wordnet_lines(args.wordnet) if args.wordnet else []
    lines += wn
    seen, unique = set(), []
    for l in lines:
        l = " ".join(l.split())
        if l and l not in seen:
            seen.add(l)
            unique.append(l)
    random.Random(args.seed).shuffle(unique)
    tmp = f"{args.out}.{os.getpid()}.tmp"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(unique) + "\n")
    os.replace(tmp, args.out)
    log(f"corpus: {len(unique)} unique lines ({glue_count} from GLUE train/test splits, {len(wn)} WordNet glosses) -> {args.out}")


# ----------------------------------------------------------------------------------------------- pretrain

def pack(tok, lines: list[str], max_length: int, rng: random.Random) -> list[tuple[list[int], list[int]]]:
    """Consecutive lines packed into [CLS] A [SEP] B [SEP] of at most max_length tokens (A and B: runs of
    whole lines), so pair tasks' segment embeddings are trained and no position is wasted on padding."""
    ids = tok(lines, add_special_tokens=False, truncation=True, max_length=max_length - 3)["input_ids"]
    out, i, room = [], 0, max_length - 3
    while i < len(ids):
        run = []
        while i < len(ids) and sum(len(r) for r in run) + len(ids[i]) <= room:
            run.append(ids[i])
            i += 1
        if not run:  # a line longer than the room (already truncated to it)
            run, i = [ids[i]], i + 1
        cut = rng.randint(1, len(run) - 1) if len(run) > 1 else 1
        a = [t for r in run[:cut] for t in r]
        b = [t for r in run[cut:] for t in r]
        x = [tok.cls_token_id] + a + [tok.sep_token_id] + (b + [tok.sep_token_id] if b else [])
        out.append((x, [0] * (len(a) + 2) + [1] * (len(x) - len(a) - 2)))
    return out


def mask_tokens(x: torch.Tensor, tok, rng: torch.Generator, prob: float = 0.15):
    """BERT's masking: 15% of real tokens are predicted; of them 80% [MASK], 10% random, 10% kept."""
    special = (x == tok.cls_token_id) | (x == tok.sep_token_id) | (x == 0)
    chosen = (torch.rand(x.shape, generator=rng) < prob) & ~special
    labels = torch.where(chosen, x, torch.full_like(x, -100))
    r = torch.rand(x.shape, generator=rng)
    x = x.clone()
    x[chosen & (r < 0.8)] = tok.mask_token_id
    rand = chosen & (r >= 0.8) & (r < 0.9)
    x[rand] = torch.randint(999, len(tok), x.shape, generator=rng)[rand]
    return x, labels


def pretrain(args) -> None:
    from transformers import BertForMaskedLM

    if os.path.exists(os.path.join(args.out, "summary.json")):
        log(f"pretrain: {args.out} is complete; kept")
        return
    os.makedirs(args.work, exist_ok=True)
    torch.manual_seed(args.seed)
    tok = tokenizer_for(args.vocab, args.max_length, args.work)
    with open(args.corpus, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    rng = random.Random(args.seed)
    seqs = pack(tok, lines, args.max_length, rng)
    log(f"pretrain: {len(lines)} lines packed into {len(seqs)} sequences of <= {args.max_length} tokens")
    model = BertForMaskedLM(bert_config(args))
    opt = optimizer_for(model, args.lr, 0.01)
    step, history = 0, []
    latest = os.path.join(args.work, "latest.pt")
    gen = torch.Generator().manual_seed(args.seed)
    if os.path.exists(latest):
        ck = torch.load(latest, weights_only=False)
        model.load_state_dict(ck["model"]), opt.load_state_dict(ck["opt"])
        step, history = ck["step"], ck["history"]
        rng.setstate(ck["rng"][0]), gen.set_state(ck["rng"][1])
        log(f"pretrain: resumed at step {step}")
    model.train()
    order: list[list[int]] = []
    t0, start_step, losses = time.time(), step, []
    while step < args.steps:
        if not order:
            order = length_batches([len(s[0]) for s in seqs], args.batch, rng)
        part = order.pop()
        x, t = pad([seqs[i][0] for i in part]), pad([seqs[i][1] for i in part])
        inp, labels = mask_tokens(x, tok, gen)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        # The vocabulary projection only where a token is predicted (15%): the same loss as the model's own
        # forward over every position, at a fraction of its cost.
        hidden = model.bert(input_ids=inp, attention_mask=(x != 0).long(), token_type_ids=t).last_hidden_state
        where = labels != -100
        logits = model.cls(hidden[where])
        loss = torch.nn.functional.cross_entropy(logits, labels[where])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        losses.append(loss.item())
        if step % args.log_every == 0 or step == args.steps:
            history.append({"step": step, "loss": sum(losses) / len(losses)})
            rate = (step - start_step) / (time.time() - t0)
            log(f"pretrain step {step}/{args.steps} masked-LM loss {history[-1]['loss']:.3f} ({rate:.2f} steps/s)")
            losses = []
            save_atomic({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "history": history,
                         "rng": (rng.getstate(), gen.get_state())}, latest)
    tmp = f"{args.out}.{os.getpid()}.tmp"
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    write_json_atomic(os.path.join(tmp, "summary.json"), {
        "corpus_lines": len(lines), "sequences": len(seqs), "steps": args.steps, "batch": args.batch, "lr": args.lr,
        "final_loss": history[-1]["loss"] if history else None, "history": history})
    if os.path.exists(args.out):
        import shutil
        shutil.rmtree(args.out)
    os.replace(tmp, args.out)
    log(f"pretrain: {args.out}")


# ----------------------------------------------------------------------------------------------- ensemble

def ensemble(args) -> None:
    """Scores the exported teachers on the GLUE dev split with onnxruntime, alone and together."""
    import onnxruntime as ort
    from transformers import BertTokenizer

    labels = TASKS[args.task][5]
    regression = labels is None
    dev = read_split(args.task, os.path.join(glue_dir(args.glue, args.task), "dev.tsv"))
    golds = [e.label for e in dev]
    members, outputs = [], []
    for folder in args.teachers:
        tok = BertTokenizer.from_pretrained(folder)
        ids, types = encode(tok, dev, args.max_length)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        sess = ort.InferenceSession(os.path.join(folder, "onnx", "model.onnx"), opts, providers=["CPUExecutionProvider"])
        rows = []
        for k in range(0, len(ids), 64):
            x, t = pad(ids[k:k + 64]).numpy(), pad(types[k:k + 64]).numpy()
            rows.append(sess.run(["logits"], {"input_ids": x, "attention_mask": (x != 0).astype(np.int64), "token_type_ids": t})[0])
        logits = np.concatenate(rows)
        out = logits[:, 0] if regression else np.exp(logits - logits.max(-1, keepdims=True))
        if not regression:
            out = out / out.sum(-1, keepdims=True)
        outputs.append(out)
        members.append({"dir": folder, "dev": metric(args.task, out if regression else out.argmax(-1), golds)})
    mean = np.mean(outputs, axis=0)
    score = metric(args.task, mean if regression else mean.argmax(-1), golds)
    write_json_atomic(args.out, {"task": args.task, "metric": TASKS[args.task][6], "dev": score, "members": members})
    log(f"ensemble {args.task}: dev {score:.4f} from {len(members)} teachers ({', '.join('%.4f' % m['dev'] for m in members)})")

# ----------------------------------------------------------------------------------------------- finetune

def encode(tok, examples, max_length: int):
    a = [e.a for e in examples]
    b = [e.b for e in examples] if examples and examples[0].b is not None else None
    enc = tok(a, b, truncation=True, max_length=max_length) if b else tok(a, truncation=True, max_length=max_length)
    return enc["input_ids"], enc["token_type_ids"]


def predict(model, ids, types, regression: bool, batch: int = 128) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        res = [None] * len(ids)
        for k in range(0, len(order), batch):
            part = order[k:k + batch]
            x, t = pad([ids[i] for i in part]), pad([types[i] for i in part])
            logits = model(input_ids=x, attention_mask=(x != 0).long(), token_type_ids=t).logits
            for i, row in zip(part, logits):
                res[i] = row.numpy()
        out = np.stack(res)
    model.train()
    return out[:, 0] if regression else out.argmax(-1)


def baseline(task: str, train, dev) -> float:
    """Majority class of the training labels (classification) or a constant (STS-B: Pearson 0)."""
    if TASKS[task][5] is None:
        return 0.0
    labels = [e.label for e in train]
    major = max(set(labels), key=labels.count)
    return metric(task, [major] * len(dev), [e.label for e in dev])


def finetune(args) -> None:
    from transformers import BertForSequenceClassification

    if os.path.exists(os.path.join(args.out, "summary.json")):
        log(f"finetune {args.task}: {args.out} is complete; kept")
        return
    os.makedirs(args.work, exist_ok=True)
    torch.manual_seed(args.seed)
    labels = TASKS[args.task][5]
    regression = labels is None
    tok = tokenizer_for(args.vocab, args.max_length, args.work)
    train = read_split(args.task, os.path.join(args.data, "train.tsv"))
    select = read_split(args.task, os.path.join(args.data, "dev.tsv"))
    dev = read_split(args.task, os.path.join(glue_dir(args.glue, args.task), "dev.tsv"))
    tr_ids, tr_types = encode(tok, train, args.max_length)
    se_ids, se_types = encode(tok, select, args.max_length)
    dv_ids, dv_types = encode(tok, dev, args.max_length)
    y = torch.tensor([e.label for e in train], dtype=torch.float32 if regression else torch.long)
    log(f"finetune {args.task}: train {len(train)}, selection {len(select)} (held out of GLUE train), dev {len(dev)}")

    extra = {"problem_type": "regression", "num_labels": 1} if regression else {
        "num_labels": len(labels), "id2label": dict(enumerate(labels)), "label2id": {l: i for i, l in enumerate(labels)}}
    if args.init:
        model = BertForSequenceClassification.from_pretrained(args.init, attn_implementation="eager", **extra)
    else:
        model = BertForSequenceClassification(bert_config(args, **extra))
    model.config.hidden_dropout_prob = args.dropout
    opt = optimizer_for(model, args.lr, 0.01)
    step, best, best_step, rng_state, history = 0, -math.inf, -1, None, []
    latest, best_file = os.path.join(args.work, "latest.pt"), os.path.join(args.work, "best.pt")
    if os.path.exists(latest):
        ck = torch.load(latest, weights_only=False)
        model.load_state_dict(ck["model"]), opt.load_state_dict(ck["opt"])
        step, best, best_step, rng_state, history = ck["step"], ck["best"], ck["best_step"], ck["rng"], ck["history"]
        log(f"finetune {args.task}: resumed at step {step}")
    rng = random.Random(args.seed)
    if rng_state:
        rng.setstate(rng_state[0]), torch.set_rng_state(rng_state[1])
    lengths = [len(r) for r in tr_ids]
    model.train()
    t0, order = time.time(), []
    start_step = step
    while step < args.steps:
        if not order:
            order = length_batches(lengths, args.batch, rng)
        part = order.pop()
        x, t = pad([tr_ids[i] for i in part]), pad([tr_types[i] for i in part])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        out = model(input_ids=x, attention_mask=(x != 0).long(), token_type_ids=t, labels=y[part])
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % args.eval_every == 0 or step == args.steps:
            score = metric(args.task, predict(model, se_ids, se_types, regression), [e.label for e in select])
            history.append({"step": step, "select": score, "loss": out.loss.item()})
            if score > best:
                best, best_step = score, step
                save_atomic(model.state_dict(), best_file)
            rate = (step - start_step) / (time.time() - t0)
            log(f"finetune {args.task} step {step}/{args.steps} loss {out.loss.item():.3f} selection {score:.4f} "
                f"(best {best:.4f} @ {best_step}; {rate:.2f} steps/s)")
            save_atomic({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best,
                         "best_step": best_step, "rng": (rng.getstate(), torch.get_rng_state()), "history": history}, latest)

    model.load_state_dict(torch.load(best_file, weights_only=True))
    model.eval()
    dev_score = metric(args.task, predict(model, dv_ids, dv_types, regression), [e.label for e in dev])
    base = baseline(args.task, train, dev)
    log(f"finetune {args.task}: chosen step {best_step} (selection {best:.4f}); GLUE dev {dev_score:.4f} vs baseline {base:.4f}")
    export(model, tok, args.out, regression)
    write_json_atomic(os.path.join(args.out, "summary.json"), {
        "task": args.task, "metric": TASKS[args.task][6], "dev": dev_score, "baseline": base, "selection": best,
        "chosen_step": best_step, "steps": args.steps, "init": "masked-LM pre-trained" if args.init else "random",
        "params": sum(p.numel() for p in model.parameters()), "history": history,
        "shape": {"layers": model.config.num_hidden_layers, "hidden": model.config.hidden_size,
                  "heads": model.config.num_attention_heads, "ffn": model.config.intermediate_size}})


def export(model, tok, out: str, regression: bool) -> None:
    """torch.onnx.export as a user's own export: ids, mask and token types in, logits out, dynamic axes."""
    import onnxruntime as ort

    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    model.config.save_pretrained(out)
    tok.save_pretrained(out)
    # Eager attention: an explicit Softmax per layer, as most exports have (and what the cache taps);
    # eval mode: no dropout in the traced graph.
    model.set_attn_implementation("eager")
    model.eval()
    enc = tok(["a first example sentence .", "and another , a little longer than the first one ."], padding=True, return_tensors="pt")
    inputs = (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    target = os.path.join(out, "onnx", "model.onnx")
    tmp = target + ".tmp.onnx"
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
            "token_type_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}}
    torch.onnx.export(model, inputs, tmp, input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["logits"], dynamic_axes=axes, opset_version=17, dynamo=False)
    sess = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
    got = sess.run(["logits"], {k: v.numpy() for k, v in zip(["input_ids", "attention_mask", "token_type_ids"], inputs)})[0]
    with torch.no_grad():
        want = model(*inputs).logits.numpy()
    diff = float(np.abs(got - want).max())
    if diff > 1e-4:
        raise SystemExit(f"export: onnxruntime logits differ from PyTorch by {diff}")
    os.replace(tmp, target)
    log(f"export: {target} (onnxruntime vs PyTorch max |diff| {diff:.1e})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("finetune", "pretrain"):
        s = sub.add_parser(name)
        s.add_argument("--vocab", required=True)
        s.add_argument("--work", required=True)
        s.add_argument("--out", required=True)
        s.add_argument("--layers", type=int, default=4)
        s.add_argument("--hidden", type=int, default=256)
        s.add_argument("--heads", type=int, default=4)
        s.add_argument("--ffn", type=int, default=1024)
        s.add_argument("--max-length", type=int, default=64)
        s.add_argument("--vocab-size", type=int, default=30522)
        s.add_argument("--steps", type=int, required=True)
        s.add_argument("--batch", type=int, default=32)
        s.add_argument("--lr", type=float, default=5e-4)
        s.add_argument("--seed", type=int, default=7)
        s.add_argument("--threads", type=int, default=2)
    fin = sub.choices["finetune"]
    fin.add_argument("--task", required=True, choices=sorted(TASKS))
    fin.add_argument("--glue", required=True)
    fin.add_argument("--data", required=True, help="folder with train.tsv and dev.tsv (the held-out selection slice)")
    fin.add_argument("--init", help="a pre-trained Hugging Face BERT folder to start from; random weights without it")
    fin.add_argument("--eval-every", type=int, default=250)
    fin.add_argument("--warmup", type=float, default=0.1)
    fin.add_argument("--dropout", type=float, default=0.1)
    pre = sub.choices["pretrain"]
    pre.add_argument("--corpus", required=True, help="one sentence per line (teacher.py corpus)")
    pre.add_argument("--warmup", type=float, default=0.06)
    pre.add_argument("--log-every", type=int, default=100)
    co = sub.add_parser("corpus")
    co.add_argument("--glue", required=True)
    co.add_argument("--out", required=True)
    co.add_argument("--wordnet", default=WORDNET if os.path.isdir(WORDNET) else None,
                    help=f"WordNet database folder (default {WORDNET} when present)")
    co.add_argument("--seed", type=int, default=1)
    en = sub.add_parser("ensemble")
    en.add_argument("--task", required=True, choices=sorted(TASKS))
    en.add_argument("--glue", required=True)
    en.add_argument("--teachers", nargs="+", required=True, help="exported teacher folders")
    en.add_argument("--out", required=True, help="JSON file: the ensemble's and each member's dev metric")
    en.add_argument("--max-length", type=int, default=64)
    en.add_argument("--threads", type=int, default=1)
    sp = sub.add_parser("split")
    sp.add_argument("--task", required=True, choices=sorted(TASKS))
    sp.add_argument("--glue", required=True)
    sp.add_argument("--out", required=True)
    sp.add_argument("--holdout", type=float, required=True, help="rows (>= 1) or a fraction of the train split")
    sp.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    if args.cmd == "split":
        return split(args)
    if args.cmd == "corpus":
        return corpus(args)
    if args.cmd == "ensemble":
        return ensemble(args)
    torch.set_num_threads(args.threads)
    (pretrain if args.cmd == "pretrain" else finetune)(args)


if __name__ == "__main__":
    main()
