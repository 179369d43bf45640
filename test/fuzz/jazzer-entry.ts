/**
 * The Jazzer.js entry point (scripts/fuzz.ts bundles it): one fuzz target, chosen by FUZZ_TARGET.
 * A UserError is an accepted outcome; anything else is thrown, which libFuzzer reports as a crash.
 */
import { runOne, targetByName } from './targets.ts';

const target = targetByName(process.env.FUZZ_TARGET ?? 'safetensors');

export function fuzz(data: Buffer): Promise<void> {
  return runOne(target, new Uint8Array(data));
}
