/** TinyBERT's augmentation defaults (data_augmentation.py and the paper's appendix). */

/** Draws per sentence by task: 30 for the small tasks, 20 for SST-2 / QNLI, 10 for MNLI / QQP. */
const N_BY_TASK: Record<string, number> = { cola: 30, mrpc: 30, stsb: 30, rte: 30, sst2: 20, qnli: 20, mnli: 10, qqp: 10 };

/** Default N for a task key; 20 for tasks TinyBERT did not name. */
export function defaultDraws(taskName: string): number {
  return N_BY_TASK[taskName.toLowerCase()] ?? 20;
}

export const DEFAULT_P = 0.4;
export const DEFAULT_K = 15;
