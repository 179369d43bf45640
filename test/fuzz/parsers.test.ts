/**
 * Property tests over every parser of an untrusted file (test/fuzz/targets.ts): any input parses or
 * raises UserError — never another exception. Bounded for every CI run (a fixed seed, a few hundred
 * inputs and a few seconds per target); FUZZ_SEED / FUZZ_RUNS / FUZZ_SECONDS widen it, and
 * `npm run fuzz` runs the long coverage-guided search. The kept corpus (seeds, and every crasher found,
 * under test/fixtures/fuzz/<target>/) is replayed first, input by input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inputsFor } from './arbitraries.ts';
import { TARGETS, corpusOf, runOne } from './targets.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 22);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 3);

describe('fuzzed parsers: any input parses or raises UserError', () => {
  for (const target of TARGETS) {
    it(`${target.name}: the kept corpus (seeds and past crashers) replays cleanly`, async () => {
      for (const data of corpusOf(target)) await runOne(target, data);
    });

    it(`${target.name} (${target.input}): ${RUNS} generated inputs`, async () => {
      const result = await fc.check(
        fc.asyncProperty(inputsFor(corpusOf(target), target.parts ?? 1), (data) => runOne(target, data)),
        { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: SECONDS * 1000, markInterruptAsFailure: false, endOnFailure: true },
      );
      if (result.failed) {
        const input = Buffer.from(result.counterexample![0] as Uint8Array);
        // Printed so it can be kept as a regression fixture: test/fixtures/fuzz/<target>/crash-<name>.
        console.error(`fuzz ${target.name}: crasher (base64) ${input.toString('base64')}\n${String(result.errorInstance)}`);
      }
      expect(result.failed ? String((result.errorInstance as Error)?.stack ?? result.errorInstance) : 'ok').toBe('ok');
      expect(result.numRuns).toBeGreaterThan(0);
    }, (SECONDS + 30) * 1000);
  }
});
