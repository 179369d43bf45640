#!/usr/bin/env bash
# Few labels, much text (docs/real-glue.md, "Few labels"): SST-2 with 2,000 labelled rows and the other
# 64,349 rows' text unlabelled. The teacher (from the masked-LM pre-trained encoder of a real-GLUE run) and the
# hard-label student see only the 2,000 labelled rows; the distilled and prediction-only students learn from the
# teacher on every row's text, whose labels are replaced by a constant so that no loss can read a gold label.
# Checkpoints are chosen on the held-out slice of train; GLUE dev is reported. Resumable: a finished step is skipped.
#
#   bash scripts/real-glue/few-labels.sh [PRETRAINED_ENCODER] [SPLIT_DIR]
#
# defaults: runs/real-glue-stsb-cola/pretrain/model (the stsb-cola recipe's pre-training) and
# runs/real-glue-sentences/data/sst2 (teacher.py split with --holdout 1000); output under runs/few-labels.
set -euo pipefail
ENCODER=${1:-runs/real-glue-stsb-cola/pretrain/model}
SPLIT=${2:-runs/real-glue-sentences/data/sst2}
GLUE=${GLUE:-../shared/glue}
VOCAB=${VOCAB:-../shared/vocab/bert-base-uncased-vocab.txt}
PY=${PYTHON:-.venv/bin/python}
OUT=runs/few-labels
CONFIG=data/few-labels/sst2.json
LABELS=2000
mkdir -p "$OUT/labeled" "$OUT/transfer" "$OUT/eval"

if [ ! -f "$OUT/transfer/dev.tsv" ]; then
  "$PY" - "$SPLIT" "$OUT" "$LABELS" <<'EOF'
import random, shutil, sys
split, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(f'{split}/train.tsv').read().splitlines()
head, rows = lines[0], lines[1:]
picked = sorted(random.Random(1).sample(range(len(rows)), n))
open(f'{out}/labeled/train.tsv', 'w').write('\n'.join([head] + [rows[i] for i in picked]) + '\n')
# Every row's text, label replaced by a constant: no loss can read a gold label from the transfer set.
open(f'{out}/transfer/train.tsv', 'w').write('\n'.join([head] + [r.rsplit('\t', 1)[0] + '\t0' for r in rows]) + '\n')
for d in ('labeled', 'transfer'): shutil.copy(f'{split}/dev.tsv', f'{out}/{d}/dev.tsv')
EOF
fi

[ -f "$OUT/teacher/summary.json" ] || "$PY" scripts/real-glue/teacher.py finetune --task sst2 --data "$OUT/labeled" --glue "$GLUE" \
  --vocab "$VOCAB" --work "$OUT/teacher-work" --out "$OUT/teacher" --threads 1 --layers 4 --hidden 256 --heads 4 --ffn 1024 \
  --max-length 64 --seed 7 --batch 32 --steps 500 --lr 0.0002 --eval-every 50 --init "$ENCODER"
[ -f "$OUT/eval/teacher.json" ] || node bin/distill.mjs eval --model "$OUT/teacher" --task sst2 --data "$GLUE/SST-2" --max-length 64 --json "$OUT/eval/teacher.json" --quiet
node bin/distill.mjs cache --config "$CONFIG" --quiet

# variant: distilled (the config's two stages on the transfer set), hard (gold labels, the 2,000 rows),
# predonly (kd_ce only, the transfer set); the same 1,500 updates, batch and seed.
student() {
  local variant=$1 seed=$2 dir="$OUT/$1-s$2"
  local extra=()
  case $variant in
    hard) extra=(--set "data.dir=$PWD/$OUT/labeled" --set 'distill.stages=[{"name":"hard","steps":1500,"lr":0.0005,"losses":[{"name":"ce"}]}]') ;;
    predonly) extra=(--set 'distill.stages=[{"name":"prediction","steps":1500,"lr":0.0005,"losses":[{"name":"kd_ce"}]}]') ;;
  esac
  if [ ! -f "$OUT/eval/$variant-s$seed.json" ]; then
    node bin/distill.mjs train --config "$CONFIG" --set seed="$seed" --set out="$PWD/$dir" --set threads=1 "${extra[@]}" --quiet > "$OUT/$variant-s$seed.log" 2>&1
    node bin/distill.mjs export --config "$CONFIG" --set seed="$seed" --set out="$PWD/$dir" "${extra[@]}" --force --quiet >> "$OUT/$variant-s$seed.log" 2>&1
    node bin/distill.mjs eval --model "$dir/student-onnx" --task sst2 --data "$GLUE/SST-2" --max-length 64 --json "$OUT/eval/$variant-s$seed.json" --quiet
  fi
}
# Two at a time, one thread each.
for job in distilled:1 hard:1 predonly:1 distilled:2 hard:2 predonly:2 distilled:3 hard:3 predonly:3; do
  student "${job%:*}" "${job#*:}" &
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
done
wait

npx tsx -e '
import fs from "node:fs";
import { meanStd } from "./scripts/stats.ts";
const dir = process.argv[1];
const acc = (f) => JSON.parse(fs.readFileSync(`${dir}/${f}.json`, "utf8")).models[0].metrics.accuracy * 100;
const row = (v) => { const xs = [1, 2, 3].map((s) => acc(`${v}-s${s}`)); return `${meanStd(xs, 1)} (${xs.map((x) => x.toFixed(2)).join(" / ")})`; };
console.log(`teacher ${acc("teacher").toFixed(1)}\ndistilled ${row("distilled")}\nhard ${row("hard")}\nprediction-only ${row("predonly")}`);
' "$OUT/eval"
