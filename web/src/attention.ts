/** An attention map as a heat map: rows are query tokens, columns key tokens, darker = more attention. */
import type { AttentionMap } from './model.ts';

const CELL = 20;

export function drawAttention(canvas: HTMLCanvasElement, map: AttentionMap, head: number, tokens: string[]): void {
  const n = map.length;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.font = '11px ui-monospace, monospace';
  const margin = Math.ceil(Math.max(...tokens.map((t) => ctx.measureText(t).width))) + 8;
  canvas.width = margin + n * CELL + 2;
  canvas.height = margin + n * CELL + 2;
  ctx.font = '11px ui-monospace, monospace';
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const base = head * n * n;
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      const p = Math.min(1, Math.max(0, map.data[base + q * n + k]));
      // White → deep blue.
      ctx.fillStyle = `rgb(${Math.round(255 - 205 * p)}, ${Math.round(255 - 170 * p)}, ${Math.round(255 - 8 * p)})`;
      ctx.fillRect(margin + k * CELL, margin + q * CELL, CELL - 1, CELL - 1);
    }
  }
  ctx.fillStyle = '#1d2330';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  tokens.forEach((t, i) => ctx.fillText(t, margin - 4, margin + i * CELL + CELL / 2));
  ctx.save();
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'left';
  tokens.forEach((t, i) => ctx.fillText(t, -margin + 4, margin + i * CELL + CELL / 2));
  ctx.restore();
  canvas.dataset.head = String(head);
  canvas.dataset.tokens = String(n);
}
