/** The playground page: pick folders, classify lines of text, compare student and teacher, look at attention. */
import { runAction } from './action.ts';
import type { Encoded } from '../../src/data/types.ts';
import { toPrediction, type Prediction } from '../../src/eval/prediction.ts';
import { teacherLabelOrder } from '../../src/teacher/labels.ts';
import { drawAttention } from './attention.ts';
import { demoSentences } from './demo.ts';
import { pickedFolder, type PickedFolder } from './folder.ts';
import { openBrowserModel, type BrowserModel, type Precision } from './model.ts';
import { chooseRuntime, type ProviderChoice, type Runtime } from './runtime.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const el = {
  runtime: $('runtime'), studentFolder: $<HTMLInputElement>('student-folder'), teacherFolder: $<HTMLInputElement>('teacher-folder'),
  studentInfo: $('student-info'), teacherInfo: $('teacher-info'), precision: $<HTMLSelectElement>('precision'),
  provider: $<HTMLSelectElement>('provider'), text: $<HTMLTextAreaElement>('text'), classify: $<HTMLButtonElement>('classify'),
  status: $('status'), error: $('error'), results: $<HTMLTableElement>('results'), agreement: $('agreement'),
  summary: $<HTMLTableElement>('summary'), ratios: $('ratios'), selected: $('selected'), tokens: $('tokens'),
  layer: $<HTMLSelectElement>('layer'), head: $<HTMLSelectElement>('head'), attentionNote: $('attention-note'),
  canvas: $<HTMLCanvasElement>('attention'),
};

interface Row {
  textA: string;
  textB?: string;
  student: Prediction;
  teacher?: Prediction;
}

const state: {
  runtime?: Runtime;
  folders: { student?: PickedFolder; teacher?: PickedFolder };
  student?: BrowserModel;
  teacher?: BrowserModel;
  rows: Row[];
  selected: number;
} = { folders: {}, rows: [], selected: 0 };

el.text.value = demoSentences(8).join('\n');

/** Runs one user action: the status line says busy / ready / error (tests wait on data-state). */
function action(what: string, fn: () => Promise<void>): Promise<void> {
  return runAction(el, what, fn, () => {
    el.classify.disabled = !state.student;
    // A model that fell back to wasm during the action: show what runs now.
    const now = state.student?.runtime;
    if (now && now.provider !== el.runtime.dataset.provider) showRuntime(now);
  });
}

const kib = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`);

function describe(m: BrowserModel, precision: string): string {
  const labels = m.regression ? 'regression (one output)' : `${m.labelNames.length} labels [${m.labelNames.join(', ')}]`;
  const attn = m.attentionLayers ? `attention outputs: ${m.attentionLayers} layers` : 'no attention outputs';
  return `${m.file} · ${kib(m.sizeBytes)} · ${precision} · ${labels} · ${attn}`;
}

async function openModels(): Promise<void> {
  state.runtime = await chooseRuntime(el.provider.value as ProviderChoice);
  showRuntime(state.runtime);
  for (const which of ['student', 'teacher'] as const) {
    await state[which]?.release();
    state[which] = undefined;
    const folder = state.folders[which];
    if (!folder) continue;
    const precision: Precision = which === 'student' ? (el.precision.value as Precision) : 'fp32';
    state[which] = await openBrowserModel(folder, precision, state.runtime);
    (which === 'student' ? el.studentInfo : el.teacherInfo).textContent = describe(state[which]!, precision);
  }
}

function showRuntime(r: Runtime): void {
  el.runtime.textContent = `runtime: ${r.description}${r.note ? ` (${r.note})` : ''}`;
  el.runtime.dataset.provider = r.provider;
}

function inputLines(): { textA: string; textB?: string }[] {
  return el.text.value
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const tab = l.indexOf('\t');
      return tab < 0 ? { textA: l } : { textA: l.slice(0, tab), textB: l.slice(tab + 1) };
    });
}

const encodeFor = (m: BrowserModel, r: { textA: string; textB?: string }): Encoded => m.tokenizer.encode(r.textA, r.textB, m.maxPositions);

async function predict(m: BrowserModel, lines: { textA: string; textB?: string }[]): Promise<Prediction[]> {
  const logits = await m.logits(lines.map((r) => encodeFor(m, r)));
  return lines.map((_, i) => toPrediction(m, logits.subarray(i * m.numOutputs, (i + 1) * m.numOutputs)));
}

function cell(p: Prediction | undefined, labelNames: string[]): HTMLTableCellElement {
  const td = document.createElement('td');
  if (!p) return td;
  if (p.value !== undefined) {
    td.textContent = p.value.toFixed(4);
    td.dataset.value = String(p.value);
    return td;
  }
  const prob = p.probs![p.labelId!];
  td.textContent = `${p.label} ${prob.toFixed(3)}`;
  const bar = document.createElement('span');
  bar.className = 'prob';
  bar.style.width = `${Math.round(prob * 60)}px`;
  td.append(bar);
  td.title = labelNames.map((l, i) => `${l}: ${p.probs![i].toFixed(4)}`).join('\n');
  td.dataset.label = p.label;
  td.dataset.probs = JSON.stringify(p.probs);
  return td;
}

async function classify(): Promise<void> {
  const { student, teacher } = state;
  if (!student) throw new Error('pick a student folder first');
  const lines = inputLines();
  if (!lines.length) throw new Error('type at least one line of text');
  const sp = await predict(student, lines);
  const tp = teacher ? await predict(teacher, lines) : undefined;
  state.rows = lines.map((l, i) => ({ ...l, student: sp[i], teacher: tp?.[i] }));
  // The teacher's class i is matched to the student's by name, as the CLI matches a teacher to a task.
  let order: number[] | undefined;
  let orderNote = '';
  if (teacher && !student.regression) {
    try {
      order = teacherLabelOrder(student.labelNames, Object.fromEntries(teacher.labelNames.map((n, i) => [String(i), n])), teacher.numOutputs, undefined, 'the teacher').order;
    } catch (e) {
      orderNote = ` (labels not comparable: ${(e as Error).message})`;
    }
  }
  const body = el.results.tBodies[0];
  body.replaceChildren();
  let agree = 0;
  state.rows.forEach((r, i) => {
    const tr = document.createElement('tr');
    tr.dataset.index = String(i);
    const num = document.createElement('td');
    num.textContent = String(i + 1);
    const text = document.createElement('td');
    text.textContent = r.textB === undefined ? r.textA : `${r.textA} ⟂ ${r.textB}`;
    const same = document.createElement('td');
    if (r.teacher && order && r.student.labelId !== undefined) {
      const ok = order[r.student.labelId] === r.teacher.labelId;
      agree += ok ? 1 : 0;
      same.textContent = ok ? 'yes' : 'no';
      same.className = ok ? '' : 'disagree';
    }
    tr.append(num, text, cell(r.student, student.labelNames), cell(r.teacher, teacher?.labelNames ?? []), same);
    tr.addEventListener('click', () => void action('attention', () => select(i)));
    body.append(tr);
  });
  el.agreement.textContent = teacher && order ? `student and teacher agree on ${agree} of ${lines.length}` : orderNote;
  await summarize(lines[0]);
  await select(0);
}

/** Size and b=1 latency of each model on the first line, and the ratios the report also shows. */
async function summarize(first: { textA: string; textB?: string }): Promise<void> {
  const body = el.summary.tBodies[0];
  body.replaceChildren();
  const rows: [string, BrowserModel][] = [['student', state.student!]];
  if (state.teacher) rows.push(['teacher', state.teacher]);
  const ms: Record<string, number> = {};
  for (const [name, m] of rows) {
    ms[name] = await m.latencyMs(encodeFor(m, first));
    const tr = document.createElement('tr');
    tr.dataset.model = name;
    tr.dataset.latencyMs = String(ms[name]);
    tr.dataset.sizeBytes = String(m.sizeBytes);
    for (const v of [name, m.file, kib(m.sizeBytes), `${ms[name].toFixed(2)} ms`, m.runtime.description]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(td);
    }
    body.append(tr);
  }
  el.summary.hidden = false;
  el.ratios.textContent = state.teacher
    ? `student vs teacher: ${(state.teacher.sizeBytes / state.student!.sizeBytes).toFixed(1)}× smaller, ${(ms.teacher / ms.student).toFixed(1)}× faster at batch 1 (median of 10 runs)`
    : '';
}

async function select(i: number): Promise<void> {
  const student = state.student!;
  const row = state.rows[i];
  if (!row) return;
  state.selected = i;
  for (const tr of el.results.tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.index === String(i));
  el.selected.textContent = `(student, example ${i + 1})`;
  const enc = encodeFor(student, row);
  el.tokens.replaceChildren(
    ...enc.inputIds.map((id) => {
      const s = document.createElement('span');
      s.textContent = student.tokenizer.idToToken(id) ?? '?';
      const small = document.createElement('small');
      small.textContent = String(id);
      s.append(small);
      return s;
    }),
  );
  await drawSelected();
}

function fillSelect(sel: HTMLSelectElement, n: number): void {
  if (sel.options.length === n) return;
  const keep = Math.min(Number(sel.value) || 0, Math.max(0, n - 1));
  sel.replaceChildren(...Array.from({ length: n }, (_, k) => new Option(String(k), String(k))));
  sel.value = String(keep);
}

async function drawSelected(): Promise<void> {
  const student = state.student;
  const row = state.rows[state.selected];
  if (!student || !row) return;
  if (!student.attentionLayers) {
    fillSelect(el.layer, 0);
    fillSelect(el.head, 0);
    el.attentionNote.textContent = 'This export has no attention outputs: export with `distill export --with-intermediates` to see them.';
    el.canvas.hidden = true;
    return;
  }
  fillSelect(el.layer, student.attentionLayers);
  const enc = encodeFor(student, row);
  const map = await student.attention(enc, Number(el.layer.value));
  fillSelect(el.head, map.heads);
  const tokens = enc.inputIds.map((id) => student.tokenizer.idToToken(id) ?? '?');
  el.canvas.hidden = false;
  el.attentionNote.textContent = `layer ${el.layer.value}, head ${el.head.value}: row = query token, column = key token (attention probabilities)`;
  drawAttention(el.canvas, map, Number(el.head.value), tokens);
}

el.studentFolder.addEventListener('change', () => {
  if (!el.studentFolder.files?.length) return;
  state.folders.student = pickedFolder(el.studentFolder.files);
  void action('loading the student', openModels);
});
el.teacherFolder.addEventListener('change', () => {
  if (!el.teacherFolder.files?.length) return;
  state.folders.teacher = pickedFolder(el.teacherFolder.files);
  void action('loading the teacher', openModels);
});
el.precision.addEventListener('change', () => void action('reloading', openModels));
el.provider.addEventListener('change', () => void action('reloading', openModels));
el.classify.addEventListener('click', () => void action('classifying', classify));
el.layer.addEventListener('change', () => void action('attention', drawSelected));
el.head.addEventListener('change', () => void action('attention', drawSelected));

/** For automation (the browser tests): the student's tokenization exactly as the page does it. */
(window as unknown as { playground: unknown }).playground = {
  encode(textA: string, textB?: string): Encoded {
    if (!state.student) throw new Error('no student loaded');
    return state.student.tokenizer.encode(textA, textB);
  },
};

void action('choosing the runtime', async () => {
  state.runtime = await chooseRuntime(el.provider.value as ProviderChoice);
  showRuntime(state.runtime);
});
