/**
 * `--shard auto`: which part of the teacher cache this process builds, read from the environment of the
 * engines people run it on. Kubernetes Indexed Jobs set JOB_COMPLETION_INDEX (the count is the job's
 * `completions`, passed in as JOB_COMPLETIONS by the manifest: Kubernetes has no variable for it); Slurm job
 * arrays set SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT and SLURM_ARRAY_TASK_MIN (arrays may start at 1).
 */
import { UserError } from '../util/errors.ts';

export interface ShardPart {
  index: number;
  count: number;
  /** Where the numbers came from, for the log line. */
  source: string;
}

function int(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new UserError(`--shard auto: ${name}="${raw}" is not a non-negative integer`);
  return Number(raw);
}

export function shardFromEnv(env: NodeJS.ProcessEnv = process.env): ShardPart {
  const k8sIndex = int(env, 'JOB_COMPLETION_INDEX');
  if (k8sIndex !== undefined) {
    const count = int(env, 'JOB_COMPLETIONS') ?? int(env, 'DISTILL_SHARD_COUNT');
    if (count === undefined) {
      throw new UserError(
        '--shard auto: JOB_COMPLETION_INDEX is set but not the number of parts; set JOB_COMPLETIONS to the Job\'s spec.completions ' +
          '(see deploy/kubernetes/cache-job.yaml)',
      );
    }
    return check({ index: k8sIndex, count, source: `Kubernetes JOB_COMPLETION_INDEX=${k8sIndex}, JOB_COMPLETIONS=${count}` });
  }
  const taskId = int(env, 'SLURM_ARRAY_TASK_ID');
  if (taskId !== undefined) {
    const count = int(env, 'SLURM_ARRAY_TASK_COUNT');
    if (count === undefined) throw new UserError('--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not');
    const min = int(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    const max = int(env, 'SLURM_ARRAY_TASK_MAX');
    const step = int(env, 'SLURM_ARRAY_TASK_STEP') ?? 1;
    if (step !== 1 || (max !== undefined && max - min + 1 !== count)) {
      throw new UserError(
        `--shard auto: the Slurm array ${min}-${max ?? '?'}${step !== 1 ? `:${step}` : ''} is not contiguous (${count} tasks); ` +
          'use --array=0-(n-1) (or 1-n) so every part is built exactly once',
      );
    }
    return check({ index: taskId - min, count, source: `Slurm SLURM_ARRAY_TASK_ID=${taskId} (min ${min}), SLURM_ARRAY_TASK_COUNT=${count}` });
  }
  throw new UserError(
    '--shard auto: neither JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID (a Slurm job array) is set; ' +
      'give --shard i/n explicitly',
  );
}

function check(p: ShardPart): ShardPart {
  if (p.count < 1 || p.index < 0 || p.index >= p.count) throw new UserError(`--shard auto: part ${p.index} of ${p.count} is out of range (${p.source})`);
  return p;
}

/** The --shard value as buildCache takes it: "i/n", or "auto" resolved from the environment. */
export function resolveShardOption(value: string | undefined, env: NodeJS.ProcessEnv = process.env, log?: (m: string) => void): string | undefined {
  if (value === undefined || value.trim() !== 'auto') return value;
  const p = shardFromEnv(env);
  log?.(`--shard auto: part ${p.index} of ${p.count} (${p.source})`);
  return `${p.index}/${p.count}`;
}
