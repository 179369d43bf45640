"""Reference metric values from scikit-learn and SciPy for test/metrics/metrics.test.ts.

Writes test/fixtures/metrics-reference.json. Run from the repository root:
    /usr/bin/python3 scripts/metrics_reference.py
(needs python3-sklearn and python3-scipy; only the committed JSON is used by the tests)
"""

import json
import math
import os

import numpy as np
import scipy
import sklearn
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "metrics-reference.json")


def classification(name, preds, labels, binary=True):
    preds, labels = [int(v) for v in preds], [int(v) for v in labels]
    expected = {
        "accuracy": accuracy_score(labels, preds),
        "mcc": matthews_corrcoef(labels, preds),
    }
    if binary:
        expected["f1"] = f1_score(labels, preds, pos_label=1, zero_division=0)
    return {"name": name, "kind": "classification", "predictions": preds, "labels": labels,
            "expected": {k: float(v) for k, v in expected.items()}}


def regression(name, preds, labels):
    preds, labels = [float(v) for v in preds], [float(v) for v in labels]
    expected = {
        "pearson": float(pearsonr(preds, labels)[0]),
        "spearman": float(spearmanr(preds, labels).correlation),
    }
    assert all(not math.isnan(v) for v in expected.values()), name
    return {"name": name, "kind": "regression", "predictions": preds, "labels": labels, "expected": expected}


def main():
    rng = np.random.default_rng(20240611)
    cases = []
    labels = rng.integers(0, 2, 60)
    noisy = np.where(rng.random(60) < 0.75, labels, 1 - labels)
    cases.append(classification("binary, 75% agreement", noisy, labels))
    labels = (rng.random(200) < 0.15).astype(int)
    preds = (rng.random(200) < 0.25).astype(int) | (labels & (rng.random(200) < 0.5))
    cases.append(classification("binary, imbalanced", preds, labels))
    labels = rng.integers(0, 3, 90)
    preds = np.where(rng.random(90) < 0.6, labels, rng.integers(0, 3, 90))
    cases.append(classification("three classes (MNLI-like), multiclass MCC", preds, labels, binary=False))
    cases.append(classification("all labels and predictions one class", [0] * 12, [0] * 12))
    cases.append(classification("constant predictions of class 1", [1] * 10, [0, 1, 1, 0, 1, 0, 0, 1, 1, 1]))
    cases.append(classification("no positive predictions", [0] * 8, [0, 1, 0, 1, 0, 0, 1, 0]))
    cases.append(classification("all wrong", [1, 0, 1, 0], [0, 1, 0, 1]))

    x = rng.normal(size=50)
    cases.append(regression("scores, noisy linear", 2.5 * x + rng.normal(scale=1.0, size=50), x))
    labels = rng.integers(0, 6, 40).astype(float)  # STS-B-like 0..5 with many ties
    preds = np.round(labels + rng.normal(scale=1.2, size=40))
    cases.append(regression("scores with ties on both sides", preds, labels))
    cases.append(regression("monotone but not linear", [v ** 3 for v in range(1, 16)], list(range(1, 16))))
    cases.append(regression("perfectly anti-correlated", [5.0, 4.0, 3.0, 2.0, 1.0], [0.1, 0.2, 0.3, 0.4, 0.5]))

    out = {"generator": "scripts/metrics_reference.py", "sklearn": sklearn.__version__, "scipy": scipy.__version__, "cases": cases}
    with open(OUT, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
