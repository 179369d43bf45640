// distill-ts from plain JavaScript (Node 20, no TypeScript tooling): one run from a config file, then
// predictions from the exported student.
//   node examples/api.mjs <config.json|yaml> [out-dir]
// The config is the CLI's (docs/config.md); `npx distill run --config <file>` does the same run.
import { loadConfig, predict, run, schedules } from 'distill-ts';

const [file, out] = process.argv.slice(2);
if (!file) {
  console.error('usage: node examples/api.mjs <config.json|yaml> [out-dir]');
  process.exit(1);
}
// Overrides use the dotted keys of `--set`.
const config = loadConfig(file, out ? { out } : {});
const result = await run(config, { force: true, progress: false, onMessage: (line) => console.error(line) });

const texts = ['a gripping , funny film', 'dull and far too long'];
const predictions = await predict(result.exported ?? result.student, texts);
for (const [i, p] of predictions.entries()) console.error(`${texts[i]} → ${p.label ?? p.value}`);

// The schedules are plain functions of the step: the learning-rate factor halfway through a stage.
const lr = schedules.lrFactor({ kind: 'linear', warmupSteps: 0 }, 50, 100);
console.log(JSON.stringify({ steps: result.train.steps, best: result.train.best ?? null, models: result.eval.models.map((m) => m.name), predictions, lrHalfway: lr }));
