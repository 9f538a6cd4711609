// The tables of a control's operation that list what happened: each deficiency's episode (who was
// told, who acknowledged), the changes the gate repaired, integrity changes with approved ones
// apart from unapproved ones, and the waivers in force and expired. Every cell is outside text
// passed through `text`; each row is kept whole on a printed page (CSS: break-inside: avoid).
import type { ControlOperation, Episode, Listing, WaiverInPeriod } from "./report-model.js";
import { count, duration, plural, table, text, time } from "./report-html-text.js";

function toldCell(e: Episode): string {
  if (e.told.length === 0) return `<span class="none">nobody</span>`;
  const items = e.told.map(
    (t) => `<li>${text(t.recipient)} by ${text(t.channel)} at ${time(t.at)}${t.status === "given-up" ? ' <strong class="bad">(given up: not delivered)</strong>' : ""} <span class="rec">#${count(t.record)}</span></li>`,
  );
  return `<ul class="told">${items.join("")}</ul>`;
}

function ackCell(e: Episode): string {
  if (!e.ack) return `<span class="none">not acknowledged</span>`;
  return `by ${text(e.ack.by)} at ${time(e.ack.at)}: ${text(e.ack.reason)} <span class="rec">#${count(e.ack.record)}</span>`;
}

function episodeRow(e: Episode): string {
  const resolved = e.resolved !== undefined ? `${time(e.resolved)}${e.resolvedBy ? ` (${text(e.resolvedBy)})` : ""} <span class="rec">#${count(e.resolvedRecord ?? 0)}</span>` : '<strong class="bad">open</strong>';
  const outcome = `${text(e.outcome)}${e.notice ? " (notice)" : ""}`;
  return `<tr class="episode${e.resolved === undefined ? " open" : ""}" data-episode="${text(e.id)}">
<td><code>${text(e.id)}</code><br><code>${text(e.promise)}</code><br>${text(e.reason)}</td>
<td>${time(e.opened)} <span class="rec">#${count(e.openedRecord)}</span></td><td>${resolved}</td>
<td>${e.durationMs !== undefined ? duration(e.durationMs) : "still open"}</td><td class="outcome-${text(e.outcome)}">${outcome}</td>
<td>${e.repaired ? "yes" : "no"}</td><td>${toldCell(e)}</td><td>${ackCell(e)}</td></tr>`;
}

/** Words above the episodes when only some are listed: how many of how many, which, and where every one is. */
function episodesListedWords(listing: Listing): string {
  const e = listing.episodes;
  if (e.listed >= e.total) return "";
  const which = e.openAtEnd > 0 ? "those still open at the period's end, then the longest, then the most recent" : "the longest, then the most recent";
  return `<p class="listed" data-listed="episodes">${count(e.listed)} of ${plural(e.total, "episode")} listed: ${which}. The figures above are over every one; the CSV and JSON reports list every one.</p>\n`;
}

function repairsListedWords(listing: Listing): string {
  const r = listing.repairs;
  if (r.listed >= r.total) return "";
  return `<p class="listed" data-listed="repairs">${count(r.listed)} of ${plural(r.total, "repair")} listed: the most recent. The CSV and JSON reports list every one.</p>\n`;
}

export function episodesTable(episodes: Episode[], listing?: Listing): string {
  const words = listing ? episodesListedWords(listing) : "";
  return words + table('class="episodes"', `<thead><tr><th>deficiency, promise, what differed</th><th>opened</th><th>resolved</th><th>duration</th><th>outcome</th><th>repaired</th><th>who was told, when</th><th>acknowledged</th></tr></thead>`, episodes.map(episodeRow), "None: no deficiency in the period.");
}

export function repairsTable(repairs: ControlOperation["repairs"], listing?: Listing): string {
  const words = listing ? repairsListedWords(listing) : "";
  const rows = repairs.map(
    (r) => `<tr class="repair"><td>${time(r.at)}</td><td class="num">${count(r.record)}</td><td><code>${text(r.promise)}</code></td><td><ul>${r.changes.map((c) => `<li>${text(c)}</li>`).join("")}</ul></td></tr>`,
  );
  return words + table('class="repairs"', `<thead><tr><th>at</th><th>record</th><th>promise</th><th>what the gate changed</th></tr></thead>`, rows, "None.");
}

export function integrityTables(integrity: ControlOperation["integrity"]): string {
  const approved = integrity.approved.map(
    (a) => `<tr class="approval"><td>${time(a.at)}</td><td class="num">${count(a.record)}</td><td class="free">${text(a.how)}</td><td class="free">${a.by !== undefined ? text(a.by) : '<span class="none">not named</span>'}</td>
<td class="free">${a.reason !== undefined ? text(a.reason) : '<span class="none">none given</span>'}</td><td>${plural(a.paths, "path")}${a.sample.length > 0 ? `, among them: <ul>${a.sample.map((p) => `<li>${text(p)}</li>`).join("")}</ul>` : ""}</td></tr>`,
  );
  const unapproved = integrity.unapproved.map(
    (u) => `<tr class="unapproved"><td>${time(u.at)}</td><td class="num">${count(u.record)}</td><td><code>${text(u.promise)}</code></td><td><ul>${u.paths.map((p) => `<li>${text(p)}</li>`).join("")}</ul></td><td>${u.kinds.map(text).join(", ")}</td></tr>`,
  );
  return `<h4>Integrity changes approved</h4>
${table('class="approvals"', `<thead><tr><th>at</th><th>record</th><th>how</th><th>approver</th><th>reason</th><th>paths</th></tr></thead>`, approved, "None.")}
<h4>Integrity changes not approved</h4>
${table('class="unapproved-changes"', `<thead><tr><th>at</th><th>record</th><th>promise</th><th>paths</th><th>what changed</th></tr></thead>`, unapproved, "None.")}`;
}

function waiverRow(w: WaiverInPeriod): string {
  const optional = (v: string | undefined) => (v !== undefined ? text(v) : "");
  return `<tr class="waiver ${w.status}"><td class="free">${text(w.reason)}</td><td class="free">${text(w.approvedBy)}</td><td>${w.from !== undefined ? text(w.from) : ""}</td><td>${text(w.until)}</td><td class="free">${optional(w.risk)}</td><td class="free">${optional(w.ticket)}</td></tr>`;
}

export function waiversTables(waivers: WaiverInPeriod[]): string {
  const head = `<thead><tr><th>reason</th><th>approved by</th><th>from</th><th>until</th><th>risk</th><th>ticket</th></tr></thead>`;
  const inForce = waivers.filter((w) => w.status === "in-force").map(waiverRow);
  const expired = waivers.filter((w) => w.status === "expired").map(waiverRow);
  return `<h4>Waivers in force</h4>
${table('class="waivers in-force"', head, inForce, "None.")}
<h4>Waivers expired</h4>
${table('class="waivers expired"', head, expired, "None.")}`;
}
