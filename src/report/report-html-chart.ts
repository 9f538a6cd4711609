// A control's compliance over time as inline SVG, drawn here (no script draws it, so it prints and
// reads with scripts off): one column per day of the period, its evaluations stacked as kept
// (bottom), deficient, then other (waived, skipped, errors outside the deficient count). Columns
// are scaled to the busiest day; a day without evaluations gets a hatched marker at the base, so a
// gap shows as such rather than as a blank, and a day with any deficient evaluation is marked
// under the axis, so that 2 deficient of 288 is seen although its bar is a sliver. Colours are set with presentation attributes and
// classes only: the page's CSP allows no style attribute.
import type { DayPoint } from "./report-model.js";
import { count, percent, plural, text } from "./report-html-text.js";

const WIDTH = 720;
const HEIGHT = 180;
const LEFT = 44;
const RIGHT = 8;
const TOP = 10;
const BOTTOM = 24;
const PLOT_W = WIDTH - LEFT - RIGHT;
const PLOT_H = HEIGHT - TOP - BOTTOM;

const SEGMENTS = [
  { key: "kept", label: "kept" },
  { key: "deficient", label: "deficient" },
  { key: "other", label: "other" },
] as const;

/**
 * What a column counts: a host's evaluations (the evidence report), or hosts (the hub's control
 * page, where a day's column is the hosts kept and deficient that day).
 */
export interface ChartUnit {
  one: string;
  many: string;
  /** the caption's last sentence: how the columns are counted */
  caption: string;
}

export const EVALUATIONS: ChartUnit = {
  one: "evaluation",
  many: "evaluations",
  caption: "Evaluations per day, the busiest day at the top; a red mark under a day: some of its evaluations were deficient.",
};

/** A number for SVG coordinates: two decimals at most, no trailing zeros. */
const n = (v: number): string => String(Math.round(v * 100) / 100);

function dayColumn(day: DayPoint, x: number, width: number, perUnit: number, unit: ChartUnit): string {
  const said = `${day.day}: ${plural(day.evaluations, unit.one, unit.many)}, ${count(day.kept)} kept, ${count(day.deficient)} deficient, ${count(day.other)} other`;
  if (day.evaluations === 0) {
    return `<g class="day none" data-day="${text(day.day)}"><title>${text(`${day.day}: no ${unit.one}`)}</title><rect class="bar-none" x="${n(x)}" y="${n(TOP + PLOT_H - 4)}" width="${n(width)}" height="4"/></g>`;
  }
  let base = TOP + PLOT_H;
  const rects: string[] = [];
  for (const s of SEGMENTS) {
    const value = day[s.key];
    if (value <= 0) continue;
    const h = value * perUnit;
    base -= h;
    rects.push(`<rect class="bar-${s.key}" x="${n(x)}" y="${n(base)}" width="${n(width)}" height="${n(h)}"/>`);
  }
  // a deficient share too small to see in its bar is still marked under the axis
  if (day.deficient > 0) rects.push(`<rect class="mark-deficient" x="${n(x)}" y="${n(TOP + PLOT_H + 2)}" width="${n(width)}" height="4"/>`);
  return `<g class="day" data-day="${text(day.day)}"><title>${text(said)}</title>${rects.join("")}</g>`;
}

function describe(timeline: DayPoint[], unit: ChartUnit): string {
  const total = timeline.reduce((a, d) => a + d.evaluations, 0);
  const kept = timeline.reduce((a, d) => a + d.kept, 0);
  const deficientDays = timeline.filter((d) => d.deficient > 0).length;
  const silentDays = timeline.filter((d) => d.evaluations === 0).length;
  return (
    `${plural(timeline.length, "day")} from ${timeline[0]!.day} to ${timeline.at(-1)!.day}: ${plural(total, unit.one, unit.many)}, ` +
    `${percent(total > 0 ? kept / total : null)} kept; ${plural(deficientDays, "day")} with deficient ${unit.many}; ` +
    `${plural(silentDays, "day")} without any ${unit.one}.`
  );
}

/** The chart for one control; `id` makes its title and description's ids unique in the page. */
export function complianceChart(id: string, title: string, timeline: DayPoint[], unit: ChartUnit = EVALUATIONS): string {
  if (timeline.length === 0) return `<p class="none">No day of the period to chart.</p>`;
  const busiest = Math.max(1, ...timeline.map((d) => d.evaluations));
  const perUnit = PLOT_H / busiest;
  const step = PLOT_W / timeline.length;
  const barWidth = Math.max(step * 0.8, Math.min(step, 0.6));
  const columns = timeline.map((d, i) => dayColumn(d, LEFT + i * step + (step - barWidth) / 2, barWidth, perUnit, unit));
  const axisY = TOP + PLOT_H;
  const label = `Compliance over time: ${title}`;
  return `<figure class="chart">
<svg class="compliance" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-labelledby="${id}-title ${id}-desc" aria-label="${text(label)}" xmlns="http://www.w3.org/2000/svg">
<title id="${id}-title">${text(label)}</title>
<desc id="${id}-desc">${text(describe(timeline, unit))}</desc>
<line class="axis" x1="${LEFT}" y1="${axisY}" x2="${WIDTH - RIGHT}" y2="${axisY}"/>
<line class="axis" x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${axisY}"/>
<line class="grid" x1="${LEFT}" y1="${TOP}" x2="${WIDTH - RIGHT}" y2="${TOP}"/>
<text class="tick" x="${LEFT - 4}" y="${TOP + 4}" text-anchor="end">${count(busiest)}</text>
<text class="tick" x="${LEFT - 4}" y="${axisY}" text-anchor="end">0</text>
<text class="tick" x="${LEFT}" y="${HEIGHT - 6}">${text(timeline[0]!.day)}</text>
<text class="tick" x="${WIDTH - RIGHT}" y="${HEIGHT - 6}" text-anchor="end">${text(timeline.at(-1)!.day)}</text>
${columns.join("\n")}
</svg>
<figcaption><span class="key key-kept"></span>kept <span class="key key-deficient"></span>deficient <span class="key key-other"></span>other (waived, skipped, errors) <span class="key key-none"></span>no ${text(unit.one)}. ${text(unit.caption)}</figcaption>
</figure>`;
}
