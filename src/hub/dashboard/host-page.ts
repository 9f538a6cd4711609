// The dashboard's page of one host, drawn from the same view GET /api/hosts/:host sends
// (server/views/host-view.ts): its enrolment, chain and clock, its incidents, the policy it runs
// against the version in force for its group, its last run, and its controls with each promise's
// current outcome. A control owner sees only its controls (the page says so).
import { count, shortHash } from "../../report/report-html-text.js";
import { outcomeOrder } from "../../evaluator/outcomes.js";
import type { HostView } from "../server/views/host-view.js";
import { html, raw, type Safe } from "./html.js";
import { controlLink, outcome, tableOr, when } from "./page-parts.js";
import { hostDecisionsPart, hostWaiverForm, type HostDecisions } from "./decision-forms.js";

/** What the host's page adds to the view: decisions and their forms, as the user may give them. */
export interface HostPageExtras {
  decisions: HostDecisions;
  /** the controls the user may waive on this host (a form under each) */
  waivable: ReadonlySet<string>;
  csrf: string;
}

function facts(v: HostView): Safe {
  const h = v.host;
  // the host's clock when it sent its last push, less the hub's when it arrived (transit included)
  const skew = h.clockSkewMs === null ? "not measured" : Math.abs(h.clockSkewMs) < 50 ? "in step with the hub (within 0.1 s)" : `${(Math.abs(h.clockSkewMs) / 1000).toFixed(1)} s ${h.clockSkewMs > 0 ? "ahead of" : "behind"} the hub`;
  return html`<section id="host"><h2>Host</h2><dl class="host">
<dt>host group</dt><dd>${h.group ?? "none"}</dd><dt>key fingerprint</dt><dd><code>${h.fingerprint}</code></dd>
<dt>enrolled</dt><dd>${when(h.enrolledAt)}</dd>
<dt>revoked</dt><dd>${h.revokedAt === null ? "no" : html`<strong class="bad">${when(h.revokedAt)}</strong>: ${h.revokedReason ?? ""}`}</dd>
<dt>chain</dt><dd class="chain-${h.chainStatus}">${h.chainStatus === "ok" ? "ok: every push linked into one chain" : html`<strong class="bad">${h.chainStatus}</strong>`}</dd>
<dt>records</dt><dd>${count(h.lastSeq)}</dd>
<dt>last push</dt><dd>received ${when(h.lastPushAt)}; sent ${h.lastSentAt === null ? "—" : when(h.lastSentAt)} (host clock)</dd>
<dt>clock</dt><dd>${skew}</dd></dl></section>`;
}

function incidents(v: HostView): Safe {
  if (v.partial) return html``;
  const rows = v.incidents.map((i) => html`<tr class="${i.resolvedAt === null ? "open" : "resolved"}"><td>${i.kind}</td><td class="free">${i.message}</td><td>${when(i.openedAt)}</td><td>${when(i.lastSeenAt)} (${count(i.seen)}×)</td>
<td>${i.resolvedAt === null ? html`<strong class="bad">open</strong>` : html`${when(i.resolvedAt)} by ${i.resolvedBy ?? ""}`}</td></tr>`);
  return html`<section id="incidents"><h2>Incidents</h2>${tableOr(html`class="incidents"`, ["kind", "what", "opened", "last seen", "resolved"], rows, "None: no chain or clock incident.")}</section>`;
}

function policy(v: HostView): Safe {
  const p = v.policy;
  if (p.hash === null) return html`<section id="policy"><h2>Policy</h2><p class="muted">No run summary received yet: the policy it runs is not known.</p></section>`;
  const version = p.version ? html`version ${p.version.id} (${p.version.status}${p.version.decidedBy !== null && html` by ${p.version.decidedBy}`}): ${p.version.message}, by ${p.version.author}` : html`<span class="muted">no published version has this content (the host's own policy)</span>`;
  const inForce = p.inForce === null ? html`<span class="muted">no version is in force for its group</span>` : html`version ${p.inForce.id} (${p.inForce.forGroup === "" ? "for every host" : html`for group ${p.inForce.forGroup}`}) since ${when(p.inForce.since)}: ${p.runsInForce ? "it runs it" : html`<strong class="bad">it runs another</strong>`}`;
  return html`<section id="policy"><h2>Policy</h2><dl class="policy"><dt>policy hash</dt><dd>${raw(shortHash(p.hash))}</dd>
<dt>content</dt><dd>${p.content === null ? "—" : raw(shortHash(p.content))}</dd><dt>since</dt><dd>${p.since === null ? "—" : when(p.since)} (host clock)</dd>
<dt>published version</dt><dd>${version}</dd><dt>in force for it</dt><dd>${inForce}</dd></dl></section>`;
}

function lastRun(v: HostView): Safe {
  const r = v.lastRun;
  if (!r) return html`<section id="last-run"><h2>Last report</h2><p class="muted">No run received yet.</p></section>`;
  const counts = outcomeOrder.filter((o) => (r.counts[o] ?? 0) > 0).map((o) => html`<li>${outcome(o)} ${count(r.counts[o]!)}</li>`);
  return html`<section id="last-run"><h2>Last report</h2><dl class="run"><dt>finished</dt><dd>${when(r.finished)} (host clock)</dd><dt>kind</dt><dd>${r.kind}</dd>
<dt>record</dt><dd>#${count(r.seq)}</dd>${v.partial ? html`</dl><p class="scope">The run's figures count every control's promises: they are shown to those who see the whole host.</p></section>` : html`<dt>promises</dt><dd>${r.promises === null ? "—" : count(r.promises)}</dd><dt>outcomes</dt><dd><ul class="counts">${counts}</ul></dd></dl></section>`}`;
}

function controls(v: HostView, extras: HostPageExtras | undefined): Safe {
  const blocks = v.byControl.map((c) => {
    const rows = c.promises.map((p) => html`<tr><td><code>${p.key}</code></td><td>${p.type}</td><td class="free">${p.promiser}</td><td>${outcome(p.outcome)}</td><td>${when(p.since)}</td><td class="free">${p.reason}</td></tr>`);
    return html`<section class="control"><h3>${controlLink(c.control)} ${c.title ?? ""} · ${outcome(c.verdict)}</h3>
<p class="meta">owner ${c.owner ?? "none named"} · severity ${c.severity ?? "unknown"}</p>
${tableOr(html`class="promises"`, ["promise", "type", "promiser", "outcome", "since (host clock)", "reason"], rows, "")}
${extras?.waivable.has(c.control) && v.host.revokedAt === null && hostWaiverForm(v.host.id, c.control, extras.csrf)}</section>`;
  });
  return html`<section id="controls"><h2>Controls</h2>${v.partial && html`<p class="scope">Only the controls you own are shown.</p>`}
${blocks.length ? blocks : html`<p class="muted">No promise reported${v.partial ? " of your controls" : ""}.</p>`}</section>`;
}

export function hostPageBody(v: HostView, extras?: HostPageExtras): Safe {
  return html`<nav class="toc" aria-label="on this page"><a href="#host">host</a> ${!v.partial && html`<a href="#incidents">incidents</a> `}${extras && html`<a href="#deficiencies">deficiencies</a> <a href="#decisions">decisions</a> `}<a href="#policy">policy</a> <a href="#last-run">last report</a> <a href="#controls">controls</a></nav>
${facts(v)}${incidents(v)}${extras && hostDecisionsPart(extras.decisions)}${policy(v)}${lastRun(v)}${controls(v, extras)}`;
}
