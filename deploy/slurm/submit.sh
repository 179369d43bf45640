#!/bin/bash
# Usage: CONFIG=runs/sst2.yaml deploy/slurm/submit.sh   (from the repository root)
set -euo pipefail
mkdir -p logs
array=$(sbatch --parsable --export=ALL deploy/slurm/cache-array.sbatch)
sbatch --dependency=afterok:"$array" --export=ALL deploy/slurm/merge.sbatch
echo "cache array $array submitted; merge + train waits for it"
