/**
 * Nearest neighbours of vocabulary entries in a word-embedding matrix by cosine similarity: the
 * offline candidate source (no GloVe, no download; the teacher's own embeddings). Pure functions.
 */
import { UserError } from '../util/errors.ts';

/** Row-major [rows, dim] matrix. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  dim: number;
}

/** Copy of the matrix with each row scaled to unit length (all-zero rows stay zero). */
export function normalizeRows(m: Matrix): Matrix {
  if (m.data.length !== m.rows * m.dim) {
    throw new UserError(`embedding matrix: expected ${m.rows}x${m.dim} = ${m.rows * m.dim} values, got ${m.data.length}`);
  }
  const out = new Float32Array(m.data.length);
  for (let r = 0; r < m.rows; r++) {
    const o = r * m.dim;
    let ss = 0;
    for (let j = 0; j < m.dim; j++) ss += m.data[o + j] * m.data[o + j];
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let j = 0; j < m.dim; j++) out[o + j] = m.data[o + j] * inv;
  }
  return { data: out, rows: m.rows, dim: m.dim };
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    s0 += a[ao + j] * b[bo + j];
    s1 += a[ao + j + 1] * b[bo + j + 1];
    s2 += a[ao + j + 2] * b[bo + j + 2];
    s3 += a[ao + j + 3] * b[bo + j + 3];
  }
  for (; j < n; j++) s0 += a[ao + j] * b[bo + j];
  return s0 + s1 + s2 + s3;
}

export interface NeighbourOptions {
  /** Queries per block: each candidate row is read once per block (cache reuse). */
  queryBlock?: number;
  /** Candidates per block. */
  candidateBlock?: number;
}

/**
 * For each query row, the k candidate rows with the highest cosine similarity, best first (ties:
 * lower row id first); the query itself is never its own neighbour. Blocked over queries and
 * candidates so the inner loops stay in cache.
 *
 * @param normed unit-length rows (normalizeRows)
 * @param queryIds rows to find neighbours for
 * @param candidateIds rows allowed as neighbours, ascending
 */
export function nearestNeighbours(
  normed: Matrix,
  queryIds: readonly number[],
  candidateIds: Int32Array,
  k: number,
  opts: NeighbourOptions = {},
): Int32Array[] {
  const { data, dim } = normed;
  const qb = opts.queryBlock ?? 16;
  const cb = opts.candidateBlock ?? 512;
  for (const q of queryIds) {
    if (!(q >= 0 && q < normed.rows)) throw new UserError(`nearestNeighbours: query row ${q} outside [0, ${normed.rows})`);
  }
  const results: Int32Array[] = [];
  for (let q0 = 0; q0 < queryIds.length; q0 += qb) {
    const block = queryIds.slice(q0, q0 + qb);
    const topIds = block.map(() => new Int32Array(k).fill(-1));
    const topVals = block.map(() => new Float64Array(k).fill(-Infinity));
    for (let c0 = 0; c0 < candidateIds.length; c0 += cb) {
      const c1 = Math.min(c0 + cb, candidateIds.length);
      for (let qi = 0; qi < block.length; qi++) {
        const q = block[qi];
        const qo = q * dim;
        const ids = topIds[qi];
        const vals = topVals[qi];
        for (let ci = c0; ci < c1; ci++) {
          const c = candidateIds[ci];
          if (c === q) continue;
          const s = dot(data, qo, data, c * dim, dim);
          if (!(s > vals[k - 1])) continue;
          // Insertion into the sorted top-k; strict > keeps the earlier (lower) id on ties.
          let pos = k - 1;
          while (pos > 0 && s > vals[pos - 1]) {
            vals[pos] = vals[pos - 1];
            ids[pos] = ids[pos - 1];
            pos--;
          }
          vals[pos] = s;
          ids[pos] = c;
        }
      }
    }
    for (const ids of topIds) {
      const n = ids.indexOf(-1);
      results.push(n === -1 ? ids : ids.slice(0, n));
    }
  }
  return results;
}
