// The fleet's evidence, for auditors and administrators (GET /ui/evidence): a form that asks the
// hub for the period's evidence pack of the fleet or one host group (GET /api/evidence/export,
// which makes it, signs it with the hub's key and writes the export in the audit log), and what an
// auditor needs to verify it with nothing but the hub's public key. The form is a plain GET: the
// browser downloads the archive; no script.
import type { Answer, Call, Handler } from "../server/api/registry.js";
import { html } from "./html.js";
import { frameOf, page } from "./page-parts.js";

/** The previous calendar quarter, the period an auditor most often asks for, as the form's default. */
export function previousQuarter(now: Date): { from: string; to: string } {
  const q = Math.floor(now.getUTCMonth() / 3);
  const year = q === 0 ? now.getUTCFullYear() - 1 : now.getUTCFullYear();
  const first = q === 0 ? 9 : (q - 1) * 3;
  const from = new Date(Date.UTC(year, first, 1));
  const to = new Date(Date.UTC(year, first + 3, 0));
  return { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
}

async function evidencePage(call: Call): Promise<Answer> {
  const groups = (await call.deps.pool.query<{ group: string }>(`SELECT DISTINCT host_group AS "group" FROM hub_hosts WHERE host_group IS NOT NULL ORDER BY 1 LIMIT 1000`)).rows.map((r) => r.group);
  const { from, to } = previousQuarter(call.deps.now());
  const body = html`<p>The evidence pack of a period for the fleet or one host group: the fleet's report (each control across the hosts, each host's chain as the hub judged it, the hub's receive time beside every host time), each host's records as it pushed them with the hub's chain over them, the policy versions the hosts ran, and a manifest with the sha256 of every file, signed with the hub's key. Making it is written in the hub's audit log. At most 366 days a pack.</p>
<form method="get" action="/api/evidence/export" class="filters" id="evidence-form">
<label>from <input type="date" name="from" value="${from}" required></label>
<label>to <input type="date" name="to" value="${to}" required></label>
<label>host group <select name="group"><option value="">every host</option>${groups.map((g) => html`<option value="${g}">${g}</option>`)}</select></label>
<label>time zone <input name="tz" value="UTC" size="16" aria-label="the time zone the days are read in"></label>
<button type="submit">Download the evidence pack</button></form>
<h2>Verifying it</h2>
<p>With the hub's public key alone (<code>covenant hub key export</code> on the hub prints it; its fingerprint is <code>${call.deps.key.fingerprint}</code>):</p>
<pre>covenant evidence verify fleet-….tar.gz --public-key hub.pem</pre>
<p>This checks the signature, every file against the manifest, and that each host's records link into one unbroken chain as the hub received them. It proves what the hosts sent and when the hub received it; it cannot prove that a host whose root was compromised told the truth (docs/hub-evidence.md).</p>`;
  return page({ ...frameOf(call), title: "Fleet evidence", section: "evidence", body });
}

export const evidencePageHandlers: Record<string, Handler> = { "ui.evidence": evidencePage };
