// The dashboard's list of controls, drawn from the view GET /api/controls sends
// (server/views/controls-list.ts): each control in the viewer's reach with its owner, severity,
// key flag and framework refs, and how many hosts keep it and how many are deficient now. The
// filters are a GET form, the pages links: no script.
import { count } from "../../report/report-html-text.js";
import type { ControlFilters, ControlRow } from "../server/views/controls-list.js";
import { html, type Safe } from "./html.js";
import { controlLink, pager, tableOr } from "./page-parts.js";

function row(c: ControlRow): Safe {
  return html`<tr><td>${controlLink(c.control)}</td><td class="free">${c.title ?? ""}</td><td>${c.owner ?? "—"}</td><td>${c.severity ?? "—"}</td><td>${c.key === null ? "—" : c.key ? "key" : ""}</td>
<td class="free">${c.refs.join(", ")}</td><td class="num">${count(c.kept)}</td><td class="num${c.deficient > 0 ? " bad" : ""}">${count(c.deficient)}</td><td class="num">${count(c.other)}</td><td class="num">${count(c.hosts)}</td></tr>`;
}

export function controlsPageBody(list: { total: number; controls: ControlRow[] }, f: ControlFilters, query: Record<string, string>, paging: { page: number; limit: number }): Safe {
  return html`<form method="get" action="/ui/controls" class="filters">
<label>owner <input name="owner" value="${f.owner ?? ""}"></label> <label>severity <input name="severity" value="${f.severity ?? ""}"></label>
<label>framework ref <input name="ref" value="${f.ref ?? ""}" placeholder="SOX or SOX:404"></label> <button type="submit">Filter</button></form>
<p>${count(list.total)} controls${(f.owner || f.severity || f.ref) && " match"}. Hosts counted by the worst outcome of their promises of the control now.</p>
${tableOr(html`class="controls"`, ["control", "title", "owner", "severity", "key", "refs", "hosts kept", "deficient", "other", "hosts"], list.controls.map(row), "No control.")}
${pager("/ui/controls", query, { page: paging.page, size: paging.limit, total: list.total })}`;
}
