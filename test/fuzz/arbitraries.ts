/**
 * fast-check inputs for the fuzz targets: raw bytes, byte-level mutations of the corpus (flips,
 * inserts, deletions, truncation), and — for the JSON parts of an input — the corpus with one value
 * replaced by a hostile one (wrong type, negative, huge, a path out of the folder, a deep nesting).
 */
import fc from 'fast-check';
import { joinParts, splitParts } from './targets.ts';

const HOSTILE_VALUES: unknown[] = [
  null, true, -1, 0, 1.5, 2 ** 31, 2 ** 53, 1e300, -1e300, '', 'x', '../../../../etc/passwd', '/etc/passwd',
  '<script>alert(1)</script>', [], [null], [-1], [1e9, 1e9], {}, { __proto__: 1 }, JSON.parse('{"__proto__": {"polluted": 1}}'),
  'A'.repeat(10_000), Array.from({ length: 200 }, (_, i) => i),
];

/** Every path (list of keys) to a value inside a JSON value. */
function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (out.length > 2000) return out;
  if (Array.isArray(value)) value.slice(0, 50).forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value).slice(0, 200)) pathsOf(v, [...prefix, k], out);
  return out;
}

function setAt(root: unknown, keys: (string | number)[], value: unknown, remove: boolean): unknown {
  if (keys.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = keys[keys.length - 1];
  if (remove && !Array.isArray(node)) delete node[last];
  else Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** The seed's JSON parts with one to three values replaced (or removed). */
function jsonMutations(seed: Uint8Array, parts: number): fc.Arbitrary<Uint8Array> | undefined {
  const split = splitParts(seed, parts);
  const parsed = split.map((p) => {
    try {
      return { ok: true as const, value: JSON.parse(Buffer.from(p).toString('utf8')) as unknown };
    } catch {
      return { ok: false as const, value: undefined };
    }
  });
  const jsonParts = parsed.flatMap((p, i) => (p.ok ? [i] : []));
  if (jsonParts.length === 0) return undefined;
  const edit = fc.record({
    part: fc.constantFrom(...jsonParts),
    pick: fc.nat(),
    value: fc.oneof(fc.constantFrom(...HOSTILE_VALUES), fc.jsonValue({ maxDepth: 3 })),
    remove: fc.boolean(),
  });
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => {
    const values = parsed.map((p) => p.value);
    for (const e of edits) {
      const paths = pathsOf(values[e.part]);
      values[e.part] = setAt(values[e.part], paths[e.pick % paths.length], e.value, e.remove);
    }
    return joinParts(...split.map((p, i) => (parsed[i].ok ? JSON.stringify(values[i]) : p)));
  });
}

/** Byte edits of a seed: set, insert or delete bytes, or cut it short. */
function byteMutations(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom('set', 'insert', 'delete', 'cut') });
  return fc.array(edit, { minLength: 1, maxLength: 8 }).map((edits) => {
    let b = Buffer.from(seed);
    for (const e of edits) {
      const at = b.length ? e.at % b.length : 0;
      if (e.op === 'set' && b.length) b[at] = e.byte;
      else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from([e.byte]), b.subarray(at)]);
      else if (e.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
      else if (e.op === 'cut') b = b.subarray(0, at);
    }
    return new Uint8Array(b);
  });
}

/** Inputs for a target from its corpus (`parts`: how many NUL-separated files one input holds). */
export function inputsFor(corpus: Uint8Array[], parts: number): fc.Arbitrary<Uint8Array> {
  const arbs: fc.Arbitrary<Uint8Array>[] = [fc.uint8Array({ maxLength: 512 }), fc.string({ maxLength: 300 }).map((s) => new Uint8Array(Buffer.from(s)))];
  for (const seed of corpus) {
    arbs.push(byteMutations(seed));
    const json = jsonMutations(seed, parts);
    if (json) arbs.push(json, json); // weighted: structure finds more than noise
  }
  return fc.oneof(...arbs);
}
