"""GLUE readers for the real-data teachers (SST-2, CoLA, MRPC, STS-B, RTE), official TSV layouts.

Mirrors tasks/*.json: which columns hold the text(s) and the label, whether the file has a header.
Used only by the teacher scripts under scripts/real-glue/; the toolkit reads GLUE with src/data.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

# name -> (GLUE folder, has header, text A column, text B column or None, label column, labels or None for regression, metric)
TASKS = {
    "sst2": ("SST-2", True, "sentence", None, "label", ["0", "1"], "accuracy"),
    "cola": ("CoLA", False, 3, None, 1, ["0", "1"], "mcc"),
    "mrpc": ("MRPC", True, "#1 String", "#2 String", "Quality", ["0", "1"], "f1"),
    "stsb": ("STS-B", True, "sentence1", "sentence2", "score", None, "pearson"),
    "rte": ("RTE", True, "sentence1", "sentence2", "label", ["entailment", "not_entailment"], "accuracy"),
}
@dataclass
class Example:
    a: str
    b: str | None
    label: float | int | None


def _rows(path: str) -> list[list[str]]:
    with open(path, encoding="utf-8-sig") as f:
        return [line.rstrip("\n").rstrip("\r").split("\t") for line in f if line.strip()]


def read_split(task: str, path: str, labelled: bool = True) -> list[Example]:
    """labelled=False: text only (GLUE test splits have no label column; CoLA's test file has a header and
    the sentence in column 1)."""
    _, header, ca, cb, cl, labels, _ = TASKS[task]
    rows = _rows(path)
    if not labelled:
        if task == "cola":
            return [Example(r[1], None, None) for r in rows[1:]]
        names = [h.strip() for h in rows[0]]
        ia, ib = names.index(ca), (names.index(cb) if cb else None)
        return [Example(r[ia], r[ib] if ib is not None else None, None) for r in rows[1:] if len(r) > ia]
    if header:
        names = [h.strip() for h in rows[0]]
        rows = rows[1:]
        ia, ib, il = names.index(ca), (names.index(cb) if cb else None), names.index(cl)
    else:
        ia, ib, il = ca, cb, cl
    out = []
    for n, r in enumerate(rows):
        raw = r[il].strip()
        if labels is None:
            y: float | int = float(raw)
        else:
            if raw not in labels:
                raise ValueError(f"{path}: row {n + 2}: label {raw!r} not in {labels}")
            y = labels.index(raw)
        out.append(Example(r[ia], r[ib] if ib is not None else None, y))
    return out


def glue_dir(glue: str, task: str) -> str:
    return os.path.join(glue, TASKS[task][0])


def metric(task: str, preds, golds) -> float:
    """The task's official dev metric on a 0-1 scale (accuracy, F1 of class 1, Matthews corr., Pearson)."""
    import numpy as np

    name = TASKS[task][6]
    p, g = np.asarray(preds, dtype=np.float64), np.asarray(golds, dtype=np.float64)
    if name == "accuracy":
        return float((p == g).mean())
    if name == "f1":
        tp, fp, fn = float(((p == 1) & (g == 1)).sum()), float(((p == 1) & (g == 0)).sum()), float(((p == 0) & (g == 1)).sum())
        return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    if name == "mcc":
        tp, tn = float(((p == 1) & (g == 1)).sum()), float(((p == 0) & (g == 0)).sum())
        fp, fn = float(((p == 1) & (g == 0)).sum()), float(((p == 0) & (g == 1)).sum())
        d = ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)) ** 0.5
        return 0.0 if d == 0 else (tp * tn - fp * fn) / d
    if p.std() == 0 or g.std() == 0:
        return 0.0
    return float(np.corrcoef(p, g)[0, 1])
