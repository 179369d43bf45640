/** The live loss curve: an SVG polyline of every step's loss, with a smoothed line over it. */
const NS = 'http://www.w3.org/2000/svg';

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export function drawLossChart(svg: SVGSVGElement, losses: number[], totalSteps: number): void {
  const W = 720;
  const H = 220;
  const pad = { l: 44, r: 10, t: 10, b: 24 };
  const max = Math.max(1e-6, ...losses);
  const x = (i: number) => pad.l + ((i + 1) / Math.max(1, totalSteps)) * (W - pad.l - pad.r);
  const y = (v: number) => pad.t + (1 - v / max) * (H - pad.t - pad.b);
  const smooth: number[] = [];
  losses.forEach((v, i) => smooth.push(i === 0 ? v : 0.9 * smooth[i - 1] + 0.1 * v));
  const points = (vs: number[]) => vs.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  svg.replaceChildren(
    el('line', { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, stroke: '#9aa3b2' }),
    el('line', { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, stroke: '#9aa3b2' }),
    el('text', { x: 4, y: pad.t + 10, 'font-size': 11, fill: '#4d5566' }, max.toFixed(3)),
    el('text', { x: 4, y: H - pad.b, 'font-size': 11, fill: '#4d5566' }, '0'),
    el('text', { x: W - pad.r - 120, y: H - 6, 'font-size': 11, fill: '#4d5566' }, `step ${losses.length} / ${totalSteps}`),
    el('polyline', { points: points(losses), fill: 'none', stroke: '#b8c4f5', 'stroke-width': 1 }),
    el('polyline', { points: points(smooth), fill: 'none', stroke: '#4a6cf7', 'stroke-width': 2 }),
  );
}
