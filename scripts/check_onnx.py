#!/usr/bin/env python3
"""Validate exported ONNX files with the reference checker (Debian package python3-onnx).

Usage: python3 scripts/check_onnx.py MODEL.onnx [MODEL.onnx ...]
Runs onnx.checker with full_check (strict shape inference) and prints one JSON line per model:
{"path", "ok", "opset", "ir_version", "inputs", "outputs", "error"}. Exit code 1 if any model fails.
"""
import json
import sys

import onnx


def describe(values):
    out = []
    for v in values:
        dims = [d.dim_param if d.dim_param else d.dim_value for d in v.type.tensor_type.shape.dim]
        out.append({"name": v.name, "elem_type": v.type.tensor_type.elem_type, "dims": dims})
    return out


def check(path):
    report = {"path": path, "ok": False}
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        report.update(
            ok=True,
            opset=max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
            ir_version=model.ir_version,
            inputs=describe(model.graph.input),
            outputs=describe(model.graph.output),
        )
    except Exception as e:  # report every failure as data; the exit code says it failed
        report["error"] = f"{type(e).__name__}: {e}"
    return report


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    failed = False
    for p in paths:
        r = check(p)
        failed |= not r["ok"]
        print(json.dumps(r))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
