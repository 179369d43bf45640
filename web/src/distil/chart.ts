/**
 * The live loss curve: an SVG polyline of every step's loss, with a smoothed line over it. Stages (the
 * intermediate one's hidden/attention MSE, the prediction one's kd_ce) have losses of other sizes, so each
 * stage's part of the x axis has its own y scale and label, and a dashed line marks where a stage starts.
 */
const NS = 'http://www.w3.org/2000/svg';

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export interface ChartStage {
  name: string;
  steps: number;
}

export function drawLossChart(svg: SVGSVGElement, losses: number[], stages: ChartStage[]): void {
  const W = 720;
  const H = 220;
  const pad = { l: 44, r: 10, t: 18, b: 24 };
  const totalSteps = stages.reduce((a, s) => a + s.steps, 0);
  const x = (i: number) => pad.l + ((i + 1) / Math.max(1, totalSteps)) * (W - pad.l - pad.r);
  const parts: SVGElement[] = [
    el('line', { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, stroke: '#9aa3b2' }),
    el('line', { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, stroke: '#9aa3b2' }),
    el('text', { x: 4, y: H - pad.b, 'font-size': 11, fill: '#4d5566' }, '0'),
    el('text', { x: W - pad.r - 120, y: H - 6, 'font-size': 11, fill: '#4d5566' }, `step ${losses.length} / ${totalSteps}`),
  ];
  let start = 0;
  let labelEnd = 0; // where the previous stage's name ends: the next one starts after it
  for (const [k, stage] of stages.entries()) {
    const own = losses.slice(start, start + stage.steps);
    const max = Math.max(1e-6, ...own);
    const y = (v: number) => pad.t + (1 - v / max) * (H - pad.t - pad.b);
    const smooth: number[] = [];
    own.forEach((v, i) => smooth.push(i === 0 ? v : 0.9 * smooth[i - 1] + 0.1 * v));
    const points = (vs: number[]) => vs.map((v, i) => `${x(start + i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const x0 = k === 0 ? pad.l : x(start - 1);
    if (k > 0) parts.push(el('line', { x1: x0, y1: pad.t, x2: x0, y2: H - pad.b, stroke: '#9aa3b2', 'stroke-dasharray': '4 3' }));
    // The last stage's name starts at its boundary, or after the previous name; an earlier one's ends at its
    // own end (a short stage is narrow), kept inside the chart (about 6.5 px a character at 11 px).
    const last = k === stages.length - 1;
    const labelX = last ? Math.max(x0 + 4, labelEnd + 8) : Math.max(x(start + stage.steps - 1) - 4, 4 + 6.5 * stage.name.length);
    labelEnd = labelX;
    // Each stage's scale: its largest loss at the top.
    parts.push(
      el('text', { x: k === 0 ? 4 : x0 + 4, y: pad.t + 10, 'font-size': 11, fill: '#4d5566' }, `${k === 0 ? '' : 'max '}${max.toFixed(3)}`),
      el('text', { x: labelX, y: pad.t - 6, 'font-size': 11, fill: '#4d5566', ...(!last && { 'text-anchor': 'end' }), class: 'stage-name' }, stage.name),
      el('polyline', { points: points(own), fill: 'none', stroke: '#b8c4f5', 'stroke-width': 1 }),
      el('polyline', { points: points(smooth), fill: 'none', stroke: '#4a6cf7', 'stroke-width': 2 }),
    );
    start += stage.steps;
  }
  svg.replaceChildren(...parts);
}
