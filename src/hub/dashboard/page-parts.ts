// Pieces every page of the dashboard shares: links to a host's and a control's page, times as the
// evidence report writes them, durations, an outcome in its colour, a table or a sentence saying
// there is none, a pager of links that keeps the filters, an answer carrying a page, and the
// frame's inputs from a call. Everything through `html` (escaped); the report's helpers return
// markup they escaped themselves, taken in with `raw`.
import { count, duration as durationText, time as timeMarkup } from "../../report/report-html-text.js";
import type { Answer, Call } from "../server/api/registry.js";
import { html, raw, type Safe } from "./html.js";
import { pageDocument, type PageFrame } from "./layout.js";
import { HTML } from "./refusals.js";

export { count };

export function hostLink(id: string | null, name: string | null): Safe {
  if (!id) return html`<span class="muted">—</span>`;
  return html`<a href="/ui/hosts/${encodeURIComponent(id)}">${name ?? id}</a>`;
}

export function controlLink(control: string | null): Safe {
  if (!control) return html`<span class="muted">—</span>`;
  return html`<a href="/ui/controls/${encodeURIComponent(control)}"><code>${control}</code></a>`;
}

/** A time: an ISO string or a Date, as "2026-11-03 14:05:07 UTC" in a <time>; `none` (greyed) for none. */
export function when(t: string | Date | null | undefined, none = "—"): Safe {
  if (t === null || t === undefined || t === "") return html`<span class="muted">${none}</span>`;
  return raw(timeMarkup(typeof t === "string" ? t : t.toISOString()));
}

/** A duration in words ("3 d 4 h"); an episode with none is still open. */
export function duration(ms: number | null): Safe {
  return ms === null ? html`<span class="muted">still open</span>` : html`${durationText(ms)}`;
}

/** An outcome in its colour (the stylesheet's o-* classes). */
export function outcome(o: string): Safe {
  return html`<span class="outcome o-${o.replace(/[^a-z]/g, "")}">${o}</span>`;
}

/** A table, or a sentence when it has no row: an empty table's head says nothing. */
export function tableOr(attributes: Safe, head: readonly string[], rows: readonly Safe[], none: string): Safe {
  if (rows.length === 0) return html`<p class="muted">${none}</p>`;
  return html`<table ${attributes}><thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** `path?query` with `over` replacing the query's values (empty values left out). */
export function withQuery(path: string, query: Record<string, string | number | undefined>, over: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...query, ...over })) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/**
 * Links to a list's previous and next pages, the other query parameters kept: "page 2 of 7" when
 * the total is known (nothing when it all fits on one page), else "page 2" and whether there is more.
 */
export function pager(path: string, query: Record<string, string | number | undefined>, at: { page: number; size?: number; total?: number; more?: boolean }): Safe {
  const pages = at.total !== undefined && at.size ? Math.max(1, Math.ceil(at.total / at.size)) : undefined;
  if (pages === 1) return html``;
  const more = at.more ?? (pages !== undefined && at.page < pages);
  return html`<nav class="pager" aria-label="pages">${at.page > 1 && html`<a href="${withQuery(path, query, { page: at.page - 1 })}" rel="prev">← previous</a>`}
<span>page ${at.page}${pages !== undefined && html` of ${pages}`}</span>${more && html`<a href="${withQuery(path, query, { page: at.page + 1 })}" rel="next">next →</a>`}</nav>`;
}

/** The frame's who and CSRF token from a call (a page's rule takes a session: both are there). */
export function frameOf(call: Call): Pick<PageFrame, "principal" | "csrf"> {
  return { principal: call.principal!, csrf: call.csrf ?? "" };
}

export function page(frame: PageFrame, status = 200): Answer {
  return { status, raw: { type: HTML, text: pageDocument(frame) } };
}

/** The query's string values only (fastify gives an array for a repeated name). */
export function queryOf(call: Call): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(call.query)) if (typeof v === "string") out[k] = v;
  return out;
}
