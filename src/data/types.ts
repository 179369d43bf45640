/** Shared data shapes: what a task is, what a row becomes, what a batch holds. */

export type MetricName = 'accuracy' | 'f1' | 'mcc' | 'pearson' | 'spearman';

/** A column by header name or by 0-based index (for files without a header, like CoLA). */
export type ColumnRef = string | number;

export interface SplitSpec {
  /** File name relative to the task's data folder, e.g. "dev_matched.tsv". */
  file: string;
  /** Whether the first line is a header. */
  header: boolean;
  textA: ColumnRef;
  textB?: ColumnRef;
  /** Absent for unlabeled splits (GLUE test files). */
  label?: ColumnRef;
  /** Column holding the example id, if any (test files: "index"). */
  id?: ColumnRef;
  /** Rows must have at least this many fields (checked with a clear error). */
  minColumns?: number;
}

export interface TaskSpec {
  /** Lower-case key: "cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli", or a user's. */
  name: string;
  /** Official name, e.g. "SST-2"; also the folder name inside a GLUE download. */
  displayName: string;
  format: 'tsv' | 'csv' | 'jsonl';
  /** Class names in label-id order, or null for regression (STS-B). These are the strings the data files use. */
  labels: string[] | null;
  /** Human-readable names in label-id order for model folders (id2label), when `labels` are codes like "0"/"1". */
  labelNames?: string[];
  metrics: MetricName[];
  /** Split used for model selection, e.g. "dev" or "dev_matched". */
  devSplit: string;
  splits: Record<string, SplitSpec>;
}

export interface Example {
  /** 0-based position in the split: the key the teacher cache is indexed by. */
  index: number;
  textA: string;
  textB?: string;
  /** Class id (classification) or score (regression); undefined when the split is unlabeled. */
  label?: number;
  /** The row's own id (the split's `id` column, e.g. a GLUE test file's index), when the split declares one. */
  id?: string;
  /** Where the row came from, for error messages. */
  source: { file: string; line: number };
}

/** One tokenized example: real tokens only, no padding. */
export interface Encoded {
  inputIds: number[];
  tokenTypeIds: number[];
}

/** A padded batch, row-major [size, seqLen]. Padding goes to the right; mask 1 = real token. */
export interface Batch {
  size: number;
  seqLen: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  /** Real length of each row. */
  lengths: number[];
  /** Example index (Example.index) of each row: the key into the teacher cache. */
  indices: number[];
  /** Class ids or regression targets, when the split is labeled. */
  labels?: Float32Array;
}
