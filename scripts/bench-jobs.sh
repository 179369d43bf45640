#!/bin/bash
# Two `distill train` jobs side by side on one machine, TensorFlow's default intra-op pool (every core per job)
# against one thread per job (`--set threads=1`), interleaved rounds; prints the wall seconds of each pair.
#
#   bash scripts/bench-jobs.sh [config] [updates per training] [rounds]
#   bash scripts/bench-jobs.sh data/real-glue/long/sst2.json 400 2      # needs that run's cache (docs/real-glue.md)
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-data/real-glue/long/sst2.json}
STEPS=${2:-400}
ROUNDS=${3:-2}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pair() { # $1 = label, $2... = extra arguments for both jobs
  local label=$1; shift
  local t0; t0=$(date +%s.%N)
  for seed in 1 2; do
    node bin/distill.mjs train --config "$CONFIG" --set seed=$seed --set out="$TMP/$label-$seed" \
      --set "distill.stages=[{\"name\":\"prediction\",\"steps\":$STEPS,\"lr\":0.0005,\"losses\":[{\"name\":\"kd_ce\"}]}]" \
      --set distill.evalEvery=0 "$@" --quiet > "$TMP/$label-$seed.log" 2>&1 &
  done
  wait
  printf '%-22s %6.1f s for two %s-update trainings side by side (%s)\n' "$label" "$(echo "$(date +%s.%N) - $t0" | bc)" "$STEPS" \
    "$(grep -h '^trained' "$TMP/$label"-*.log | sed 's/;.*//' | paste -sd ',')"
  rm -rf "$TMP/$label"-*
}
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
for round in $(seq "$ROUNDS"); do
  pair "default pool" 
  pair "one thread per job" --set threads=1
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
