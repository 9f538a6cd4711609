// Pieces several pages share: links to a host's and a control's page, times, a pager of links
// that keeps the filters, an answer carrying a page, and the frame's inputs from a call.
import { count, duration } from "../../report/report-html-text.js";
import type { Answer, Call } from "../server/api/registry.js";
import { html, type Safe } from "./html.js";
import { pageDocument, type PageFrame } from "./layout.js";
import { HTML } from "./refusals.js";

export { count, duration };

export function hostLink(id: string | null, name: string | null): Safe {
  if (!id) return html`<span class="muted">—</span>`;
  return html`<a href="/ui/hosts/${encodeURIComponent(id)}">${name ?? id}</a>`;
}

export function controlLink(control: string | null): Safe {
  if (!control) return html`<span class="muted">—</span>`;
  return html`<a href="/ui/controls/${encodeURIComponent(control)}">${control}</a>`;
}

/** An ISO time as the hub's clock gives it, to the second, in a <time>. */
export function when(iso: string | Date | null | undefined): Safe {
  if (!iso) return html`<span class="muted">never</span>`;
  const t = typeof iso === "string" ? iso : iso.toISOString();
  return html`<time datetime="${t}">${t.slice(0, 19).replace("T", " ")} UTC</time>`;
}

/** `path?query` with `over` replacing the query's values (empty values left out). */
export function withQuery(path: string, query: Record<string, string | number | undefined>, over: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...query, ...over })) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Previous and next links for a page of `size` of `total` (or, without a total, whether there is more). */
export function pager(path: string, query: Record<string, string | number | undefined>, page: number, more: boolean, total?: number, size?: number): Safe {
  const pages = total !== undefined && size ? Math.max(1, Math.ceil(total / size)) : undefined;
  return html`<p class="pager">${page > 1 ? html`<a href="${withQuery(path, query, { page: page - 1 })}" rel="prev">← previous</a>` : ""}
<span>page ${page}${pages !== undefined ? html` of ${pages}` : ""}</span>${more ? html`<a href="${withQuery(path, query, { page: page + 1 })}" rel="next">next →</a>` : ""}</p>`;
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
