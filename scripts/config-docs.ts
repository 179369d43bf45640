/**
 * Writes docs/config.md from the config schema: every key with its type, default, allowed values and
 * the one-line meaning from its doc comment in src/cli/config-schema.ts. A test fails when the file
 * is stale. Usage: npx tsx scripts/config-docs.ts [--check]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ConfigSchema, DistillOverrideSchema, TemperatureRuleSchema, ValueScheduleSchema, WeightScheduleSchema } from '../src/cli/config-schema.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CONFIG_DOC = path.join(ROOT, 'docs', 'config.md');
const SCHEMA_FILE = path.join(ROOT, 'src', 'cli', 'config-schema.ts');

type Def = Record<string, unknown> & { type: string };
const defOf = (n: unknown): Def => (n as { _zod: { def: Def } })._zod.def;

/**
 * Doc comments of the schema's object literals, keyed by the literal's sorted key list and then by key
 * (a zod object at run time is matched to its literal by the same key list).
 */
function schemaComments(): Map<string, Map<string, string>> {
  const text = fs.readFileSync(SCHEMA_FILE, 'utf8');
  const sf = ts.createSourceFile(SCHEMA_FILE, text, ts.ScriptTarget.Latest, true);
  const out = new Map<string, Map<string, string>>();
  const visit = (node: ts.Node): void => {
    if (ts.isObjectLiteralExpression(node)) {
      const entries = new Map<string, string>();
      const keys: string[] = [];
      for (const p of node.properties) {
        if (ts.isSpreadAssignment(p)) {
          // `...windowKeys`: the spread object's own keys and comments.
          const decl = findConst(sf, p.expression.getText());
          if (decl) for (const [k, v] of literalComments(decl)) (keys.push(k), entries.set(k, v));
          continue;
        }
        if (!p.name) continue;
        const key = p.name.getText().replace(/['"]/g, '');
        keys.push(key);
        const c = leadingDoc(p, text);
        if (c) entries.set(key, c);
      }
      out.set([...keys].sort().join(','), entries);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function findConst(sf: ts.SourceFile, name: string): ts.ObjectLiteralExpression | undefined {
  let found: ts.ObjectLiteralExpression | undefined;
  sf.forEachChild(function walk(n): void {
    if (ts.isVariableDeclaration(n) && n.name.getText() === name && n.initializer && ts.isObjectLiteralExpression(n.initializer)) found = n.initializer;
    n.forEachChild(walk);
  });
  return found;
}

function literalComments(o: ts.ObjectLiteralExpression): [string, string][] {
  const text = o.getSourceFile().getFullText();
  return o.properties.flatMap((p) => (p.name ? [[p.name.getText(), leadingDoc(p, text) ?? '']] : [])) as [string, string][];
}

function leadingDoc(node: ts.Node, text: string): string | undefined {
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  const docs = ranges.map((r) => text.slice(r.pos, r.end)).filter((c) => c.startsWith('/**'));
  if (docs.length === 0) return undefined;
  return docs[docs.length - 1]
    .replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, '').trim())
    .filter(Boolean)
    .join(' ');
}

/** Shared shapes, described once in their own section and referred to by name. */
const NAMED = new Map<unknown, string>([
  [ValueScheduleSchema, 'value schedule'],
  [WeightScheduleSchema, 'weight schedule'],
  [TemperatureRuleSchema, 'temperature rule'],
]);
/** Objects with another section's keys (none defaulted): referred to, not listed again. */
const SAME_KEYS_AS = new Map<unknown, string>([[DistillOverrideSchema, 'distill']]);
const anchor = (name: string) => `[${name}](#${name.replace(/ /g, '-')})`;

interface Row {
  key: string;
  type: string;
  def: string;
  meaning: string;
}

const code = (v: unknown) => '`' + JSON.stringify(v) + '`';

/** Peels default / prefault / optional wrappers, noting the default. */
function unwrap(n: unknown): { node: unknown; def?: unknown; optional: boolean } {
  let def: unknown;
  let optional = false;
  for (;;) {
    const d = defOf(n);
    if (d.type === 'default' || d.type === 'prefault') def = def ?? d.defaultValue;
    else if (d.type === 'optional') optional = true;
    else if (d.type !== 'pipe') return { node: n, def, optional };
    n = d.innerType ?? d.in;
  }
}

function typeOf(n: unknown): string {
  const { node } = unwrap(n);
  if (NAMED.has(node)) return `a ${anchor(NAMED.get(node)!)}`;
  if (SAME_KEYS_AS.has(node)) return `object: keys of [\`${SAME_KEYS_AS.get(node)}\`](#${SAME_KEYS_AS.get(node)}), none defaulted`;
  const d = defOf(node);
  switch (d.type) {
    case 'number': {
      const z = node as { isInt?: boolean; minValue?: number | null; maxValue?: number | null };
      const lo = z.minValue != null && Number.isFinite(z.minValue) && Math.abs(z.minValue) < 1e15 ? z.minValue : undefined;
      const hi = z.maxValue != null && Number.isFinite(z.maxValue) && Math.abs(z.maxValue) < 1e15 ? z.maxValue : undefined;
      const range = lo !== undefined || hi !== undefined ? ` ${lo ?? '−∞'}..${hi ?? '∞'}` : '';
      return (z.isInt ? 'integer' : 'number') + range;
    }
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'enum':
      return Object.values(d.entries as Record<string, string>).map((v) => code(v)).join(' \\| ');
    case 'literal':
      return (d.values as unknown[]).map(code).join(' \\| ');
    case 'array':
      return `list of ${typeOf(d.element)}`;
    case 'tuple':
      return `[${(d.items as unknown[]).map(typeOf).join(', ')}]`;
    case 'object':
      return 'object';
    case 'union':
      return (d.options as unknown[]).map(typeOf).join(' or ');
    default:
      return d.type;
  }
}

/** Object nodes reachable under a node (through arrays and unions), with the suffix they sit at. */
function childObjects(n: unknown, at: string, expandNamed = false): { at: string; node: unknown; disc?: string }[] {
  const { node } = unwrap(n);
  if ((NAMED.has(node) && !expandNamed) || SAME_KEYS_AS.has(node)) return [];
  const d = defOf(node);
  if (d.type === 'object') return [{ at, node }];
  if (d.type === 'array') return childObjects(d.element, `${at}[]`);
  if (d.type === 'union') {
    const opts = d.options as unknown[];
    const disc = d.discriminator as string | undefined;
    return opts.flatMap((o) => {
      const kinds = disc ? discriminatorValues(o, disc) : undefined;
      return childObjects(o, kinds ? `${at} (${disc} ${kinds.map((k) => JSON.stringify(k)).join(' / ')})` : at).map((c) => ({ ...c, disc }));
    });
  }
  return [];
}

function discriminatorValues(o: unknown, disc: string): unknown[] {
  const d = defOf((defOf(unwrap(o).node).shape as Record<string, unknown>)[disc]);
  return d.type === 'literal' ? (d.values as unknown[]) : Object.values(d.entries as Record<string, unknown>);
}

function section(title: string, obj: unknown, comments: Map<string, Map<string, string>>, missing: string[], out: string[], disc?: string): void {
  const shape = defOf(obj).shape as Record<string, unknown>;
  const sig = Object.keys(shape).sort().join(',');
  const notes = comments.get(sig) ?? new Map<string, string>();
  const rows: Row[] = [];
  const nested: { at: string; node: unknown; disc?: string }[] = [];
  for (const [key, child] of Object.entries(shape)) {
    const u = unwrap(child);
    const meaning = notes.get(key) ?? (key === disc ? 'Selects this form.' : '');
    if (!meaning) missing.push(`${title}.${key}`);
    const def = u.def !== undefined ? (typeof u.def === 'object' && u.def !== null && Object.keys(u.def).length === 0 ? 'see below' : code(u.def)) : u.optional ? 'unset' : 'required';
    rows.push({ key, type: typeOf(child), def, meaning });
    for (const c of childObjects(child, `${title === '(top level)' ? '' : title + '.'}${key}`)) nested.push(c);
  }
  out.push(`${title.startsWith('#') ? title : `## ${title === '(top level)' ? 'Top level' : '`' + title + '`'}`}`, '', '| key | type / allowed values | default | meaning |', '|-----|------|---------|---------|');
  for (const r of rows) out.push(`| \`${r.key}\` | ${r.type} | ${r.def} | ${r.meaning.replace(/\|/g, '\\|')} |`);
  out.push('');
  for (const n of nested) section(n.at, n.node, comments, missing, out, n.disc);
}

const HEAD = `# Run configuration

<!-- Generated by \`npx tsx scripts/config-docs.ts\` from src/cli/config-schema.ts; do not edit by hand
     (a test fails when this file and the schema disagree). -->

One JSON (or YAML) file describes a run; \`src/cli/config-schema.ts\` (zod) is the single description of
it. The trainer's options are derived from it (src/cli/stage-options.ts, \`trainOptions\`), so every
key below is reachable from a config file, from \`--set key.path=value\` and from the library API
(\`train(config)\`). Every object is strict: an unknown or misspelt key is an error naming its path and
the allowed keys. Omitted keys take the defaults below. Relative paths are resolved against the config
file's folder. The resolved config (defaults filled, flags applied, absolute paths) is saved as
\`<out>/resolved-config.json\`.

Minimal config (everything else defaulted):

\`\`\`json
{ "task": "sst2", "teacher": { "dir": "models/bert-sst2" }, "data": { "dir": "glue/SST-2" } }
\`\`\`

Complete examples: \`data/demo/config.json\` (the demo) and \`docs/recipes/*.json\` (every technique:
multi-teacher mean / weighted / most confident, momentum and self-distillation, flsw / cwsm temperatures,
adaptive and scheduled loss weights, the α mix, curriculum, explicit layer pairs, augmentation, general-student
and teacher init, kd_mse on a regression task, a teacher-assistant chain).

Recipes for the mix of distillation and gold-label losses in a stage with \`losses: [kd_ce, ce]\`:

- α from 0.9 down to 0.1: \`"alpha": { "schedule": "linear", "from": 0.9, "to": 0.1 }\` (kd_ce × α, ce × (1 − α)).
- λ grows from 0: \`"weights": { "logits": { "kind": "linear_growth", "weight": 1 } }\`.

Schedules are functions of the 0-based update inside the stage; \`startStep\` / \`endStep\` narrow them
to a window.
`;

const TAIL = `## Checks made while reading the config

- \`student.numHeads\` divides \`student.hiddenSize\`; \`data.maxLength\` ≤ \`student.maxPositions\`.
- Each stage gives exactly one of \`steps\` and \`epochs\`; stage names are unique.
- Intermediate losses (\`hidden_mse\`, \`attention_*\`) need \`cache.layers\` other than \`"logits"\` and are
  not allowed with \`distill.selfDistillation\`.
- A stage's \`momentum\` needs \`ema.enabled\`; each \`multiTeacher.teachers[]\` entry gives exactly one of
  \`dir\` and \`cache\`.
- Once the teacher is known: the \`"uniform"\` mapping needs the teacher's depth to be a multiple of
  \`student.numLayers\`; explicit pairs must fit both models; \`student.init: "teacher"\` needs equal widths.
- Teacher assistants: each link of the chain (teacher → \`assistants[0]\` → … → student) gets the checks above
  with its own teacher, reported under \`assistants[i]\`; each model is at most as wide and as deep as the one
  it learns from; a chain is not combined with augmentation, \`multiTeacher.teachers\` or self-distillation.
`;

/** The generated docs/config.md; throws listing keys that have no doc comment. */
export function renderConfigDocs(): string {
  const comments = schemaComments();
  const out: string[] = [HEAD];
  const missing: string[] = [];
  section('(top level)', unwrap(defOf(ConfigSchema).type === 'pipe' ? defOf(ConfigSchema).in : ConfigSchema).node, comments, missing, out);
  for (const [schema, name] of NAMED) {
    out.push(`## ${name[0].toUpperCase() + name.slice(1)}`, '', `<a id="${name.replace(/ /g, '-')}"></a>`, '');
    for (const c of childObjects(schema, '', true)) {
      const kinds = c.disc ? discriminatorValues(c.node, c.disc) : undefined;
      section(`### ${name}${kinds ? ` (${c.disc} ${kinds.map((k) => JSON.stringify(k)).join(' / ')})` : ''}`, c.node, comments, missing, out, c.disc);
    }
  }
  if (missing.length) throw new Error(`config keys without a doc comment in src/cli/config-schema.ts: ${missing.join(', ')}`);
  out.push(TAIL);
  return out.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const text = renderConfigDocs();
  if (process.argv.includes('--check')) {
    const same = fs.existsSync(CONFIG_DOC) && fs.readFileSync(CONFIG_DOC, 'utf8') === text;
    if (!same) {
      console.error('docs/config.md is stale: run npx tsx scripts/config-docs.ts');
      process.exit(1);
    }
  } else {
    fs.writeFileSync(CONFIG_DOC, text);
    console.error(`wrote ${path.relative(process.cwd(), CONFIG_DOC)}`);
  }
}
