// Pieces the pages of a control, a host and the controls list share: times as the evidence report writes them, links to a host's
// and a control's page, an outcome with its class, a table or a sentence saying there is none,
// and the links to a list's other pages. Everything through `html` (escaped); the report's
// helpers return markup they escaped themselves, taken in with `raw`.
import { duration as durationText, time as timeMarkup } from "../../report/report-html-text.js";
import { html, raw, type Safe } from "./html.js";

/** A time: an ISO string or a Date, as "2026-11-03 14:05:07 UTC" in a <time>; "—" for none. */
export function when(t: string | Date | null | undefined): Safe {
  if (t === null || t === undefined) return html`<span class="none">—</span>`;
  return raw(timeMarkup(typeof t === "string" ? t : t.toISOString()));
}

export function duration(ms: number | null): Safe {
  return ms === null ? html`<span class="none">still open</span>` : html`${durationText(ms)}`;
}

export function hostLink(id: string, name: string): Safe {
  return html`<a href="/ui/hosts/${encodeURIComponent(id)}">${name}</a>`;
}

export function controlLink(control: string): Safe {
  return html`<a href="/ui/controls/${encodeURIComponent(control)}"><code>${control}</code></a>`;
}

export function outcome(o: string): Safe {
  return html`<span class="outcome outcome-${o.replace(/[^a-z]/g, "")}">${o}</span>`;
}

/** A table, or a sentence when it has no row: an empty table's head says nothing. */
export function tableOr(attributes: Safe, head: readonly string[], rows: readonly Safe[], none: string): Safe {
  if (rows.length === 0) return html`<p class="none">${none}</p>`;
  return html`<table ${attributes}><thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** "Page 2 of 7" with links to the previous and next pages, the other query parameters kept. */
export function pager(path: string, query: Record<string, string>, page: number, size: number, total: number, param = "page"): Safe {
  const pages = Math.max(1, Math.ceil(total / size));
  if (pages <= 1) return html``;
  const link = (p: number, label: string): Safe => {
    const q = new URLSearchParams({ ...query, [param]: String(p) });
    return html`<a rel="${label === "previous" ? "prev" : "next"}" href="${path}?${q.toString()}">${label}</a>`;
  };
  return html`<nav class="pager" aria-label="pages">${page > 1 && link(page - 1, "previous")} page ${page} of ${pages} ${page < pages && link(page + 1, "next")}</nav>`;
}
