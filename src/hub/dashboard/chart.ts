// Charts as inline SVG made on the server (the CSP allows no script and no inline style): a
// stacked bar of verdicts, each outcome a rectangle coloured by presentation attributes, with a
// <title> a screen reader and a tooltip read, and the figures also written as text beside it.
import { outcomeOrder } from "../../evaluator/outcomes.js";
import type { Counts } from "./overview-data.js";
import { html, type Safe } from "./html.js";

export const OUTCOME_COLOUR: Record<keyof Counts, string> = {
  kept: "#2e7d32",
  repaired: "#1565c0",
  waived: "#8e6bbf",
  skipped: "#9aa1ad",
  drift: "#e08a00",
  failed: "#c62828",
  error: "#6d1b1b",
};

/** The order bars are drawn in: the deficient outcomes first, so that a sliver of drift is seen at the left. */
const DRAW_ORDER: (keyof Counts)[] = ["error", "failed", "drift", "repaired", "waived", "kept", "skipped"];

/** A horizontal stacked bar of `counts`, `width` wide. */
export function verdictBar(counts: Counts, width = 180, height = 12): Safe {
  const total = outcomeOrder.reduce((n, o) => n + counts[o], 0);
  if (total === 0) return html`<svg class="bar" width="${width}" height="${height}" role="img" aria-label="no verdicts"><rect width="${width}" height="${height}" fill="#eef1f5"/></svg>`;
  let x = 0;
  const parts: Safe[] = [];
  for (const o of DRAW_ORDER) {
    if (counts[o] === 0) continue;
    // at least a pixel, so that one drifting host among 20,000 still shows
    const w = Math.max(1, Math.round((counts[o] / total) * width * 100) / 100);
    parts.push(html`<rect x="${x.toFixed(2)}" width="${w.toFixed(2)}" height="${height}" fill="${OUTCOME_COLOUR[o]}"><title>${o}: ${counts[o]}</title></rect>`);
    x += w;
  }
  const label = DRAW_ORDER.filter((o) => counts[o] > 0).map((o) => `${o} ${counts[o]}`).join(", ");
  return html`<svg class="bar" width="${width}" height="${height}" viewBox="0 0 ${Math.max(width, x).toFixed(2)} ${height}" preserveAspectRatio="none" role="img" aria-label="${label}">${parts}</svg>`;
}

/** The colours' legend, as text. */
export function legend(): Safe {
  return html`<p class="legend">${DRAW_ORDER.map((o) => html`<span><span class="swatch s-${o}"></span>${o}</span>`)}</p>`;
}
