/** A line chart as one self-contained <svg> string: axes, ticks, one path per series, a legend. */
import { downsample, escapeXml, extent, formatTick, linearScale, linePath, logScale, logTicks, niceTicks, type Point } from './svg.ts';

export interface Series {
  name: string;
  points: readonly Point[];
  /** Dashed line (e.g. the EMA model next to the raw one). */
  dashed?: boolean;
  /** Thin, mostly transparent line (raw values under their smoothed curve); left out of the legend. */
  faint?: boolean;
  /** Colour; default: the palette entry of the series' position. */
  color?: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Log y axis; used only when every value is positive. */
  logY?: boolean;
  /** Vertical marker lines, e.g. stage boundaries. */
  markers?: readonly { x: number; label: string }[];
  width?: number;
  height?: number;
  /** Longest series drawn point-for-point; longer ones are bucket-averaged. */
  maxPoints?: number;
}

/** Colour-blind-friendly palette (Okabe-Ito). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

const MARGIN = { left: 64, right: 16, top: 32, bottom: 44 };
/** Room for the legend, right of the plot so it never covers a line. */
const LEGEND_WIDTH = 150;

export function lineChart(o: ChartOptions): string {
  const width = o.width ?? 760;
  const height = o.height ?? 300;
  const series = o.series.map((s) => ({ ...s, points: downsample(s.points, o.maxPoints ?? 600) }));
  const xs = extent(series.flatMap((s) => s.points.map((p) => p[0])));
  const ys = extent(series.flatMap((s) => s.points.map((p) => p[1])));
  const title = `<text class="title" x="${width / 2}" y="18" text-anchor="middle">${escapeXml(o.title)}</text>`;
  if (!xs || !ys) {
    return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${title}<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="empty">no data</text></svg>`;
  }
  const useLog = !!o.logY && ys[0] > 0;
  const [y0, y1] = ys[0] === ys[1] ? [ys[0] - (Math.abs(ys[0]) || 1) * 0.1, ys[1] + (Math.abs(ys[1]) || 1) * 0.1] : ys;
  const xRange: [number, number] = [MARGIN.left, width - MARGIN.right - LEGEND_WIDTH];
  const yRange: [number, number] = [height - MARGIN.bottom, MARGIN.top];
  const x = linearScale(xs, xRange);
  const y = useLog ? logScale([y0, y1], yRange) : linearScale([y0, y1], yRange);
  const xTicks = niceTicks(xs[0], xs[1], 6).filter((t) => t >= xs[0] && t <= xs[1]);
  const yTicks = (useLog ? logTicks(y0, y1) : niceTicks(y0, y1, 5)).filter((t) => t >= y0 && t <= y1);

  const grid = [
    ...yTicks.map(
      (t) =>
        `<line class="grid" x1="${xRange[0]}" x2="${xRange[1]}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"/>` +
        `<text class="tick" x="${xRange[0] - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${formatTick(t)}</text>`,
    ),
    ...xTicks.map(
      (t) =>
        `<text class="tick" x="${x(t).toFixed(1)}" y="${yRange[0] + 16}" text-anchor="middle">${formatTick(t)}</text>`,
    ),
  ];
  const axes =
    `<line class="axis" x1="${xRange[0]}" x2="${xRange[1]}" y1="${yRange[0]}" y2="${yRange[0]}"/>` +
    `<line class="axis" x1="${xRange[0]}" x2="${xRange[0]}" y1="${yRange[0]}" y2="${yRange[1]}"/>` +
    `<text class="label" x="${(xRange[0] + xRange[1]) / 2}" y="${height - 6}" text-anchor="middle">${escapeXml(o.xLabel)}</text>` +
    `<text class="label" transform="translate(14 ${(yRange[0] + yRange[1]) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(
      o.yLabel + (useLog ? ' (log)' : ''),
    )}</text>`;
  const markers = (o.markers ?? [])
    .filter((m) => m.x >= xs[0] && m.x <= xs[1])
    .map(
      (m) =>
        `<line class="marker" x1="${x(m.x).toFixed(1)}" x2="${x(m.x).toFixed(1)}" y1="${yRange[0]}" y2="${yRange[1]}"/>` +
        `<text class="tick" x="${(x(m.x) + 3).toFixed(1)}" y="${yRange[1] + 10}">${escapeXml(m.label)}</text>`,
    );
  const colorOf = (s: Series, i: number) => s.color ?? PALETTE[i % PALETTE.length];
  const lines = series.map((s, i) => {
    const color = colorOf(s, i);
    const d = linePath(s.points, x, y);
    // A single point has no length as a path: draw it as a dot so it stays visible.
    const dot = s.points.length === 1 ? `<circle cx="${x(s.points[0][0]).toFixed(1)}" cy="${y(s.points[0][1]).toFixed(1)}" r="3" fill="${color}"/>` : '';
    const style = s.faint ? 'stroke-width="1" stroke-opacity="0.25"' : 'stroke-width="1.6"';
    return `<path class="series${s.faint ? ' raw' : ''}" data-series="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${color}" ${style}${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>${dot}`;
  });
  const legend = series
    .map((s, i) => ({ s, color: colorOf(s, i) }))
    .filter(({ s }) => !s.faint)
    .map(({ s, color }, i) => {
      const ly = MARGIN.top + 4 + i * 14;
      const lx = xRange[1] + 12;
      return (
        `<line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>` +
        `<text class="legend" x="${lx + 22}" y="${ly + 4}">${escapeXml(s.name)}</text>`
      );
    });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(o.title)}">` +
    title +
    grid.join('') +
    axes +
    markers.join('') +
    lines.join('') +
    `<g class="legend">${legend.join('')}</g></svg>`
  );
}

export interface ScatterOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  points: readonly Point[];
  width?: number;
  height?: number;
}

/** Scatter plot with the y = x diagonal (predicted vs gold for regression tasks). */
export function scatterChart(o: ScatterOptions): string {
  const width = o.width ?? 420;
  const height = o.height ?? 380;
  const all = o.points.flatMap((p) => [p[0], p[1]]);
  const ext = extent(all) ?? [0, 1];
  const [lo, hi] = ext[0] === ext[1] ? [ext[0] - 1, ext[1] + 1] : ext;
  const m = { left: 56, right: 16, top: 32, bottom: 44 };
  const x = linearScale([lo, hi], [m.left, width - m.right]);
  const y = linearScale([lo, hi], [height - m.bottom, m.top]);
  const ticks = niceTicks(lo, hi, 5).filter((t) => t >= lo && t <= hi);
  const grid = ticks
    .map(
      (t) =>
        `<text class="tick" x="${m.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${formatTick(t)}</text>` +
        `<text class="tick" x="${x(t).toFixed(1)}" y="${height - m.bottom + 16}" text-anchor="middle">${formatTick(t)}</text>`,
    )
    .join('');
  const dots = o.points.map((p) => `<circle class="dot" cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="2" fill="#0072B2" fill-opacity="0.5"/>`).join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart scatter" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(o.title)}">` +
    `<text class="title" x="${width / 2}" y="18" text-anchor="middle">${escapeXml(o.title)}</text>` +
    `<line class="axis" x1="${m.left}" x2="${width - m.right}" y1="${height - m.bottom}" y2="${height - m.bottom}"/>` +
    `<line class="axis" x1="${m.left}" x2="${m.left}" y1="${height - m.bottom}" y2="${m.top}"/>` +
    `<line class="marker diagonal" x1="${x(lo)}" y1="${y(lo)}" x2="${x(hi)}" y2="${y(hi)}"/>` +
    grid +
    dots +
    `<text class="label" x="${(m.left + width - m.right) / 2}" y="${height - 6}" text-anchor="middle">${escapeXml(o.xLabel)}</text>` +
    `<text class="label" transform="translate(14 ${(height - m.bottom + m.top) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>` +
    '</svg>'
  );
}
