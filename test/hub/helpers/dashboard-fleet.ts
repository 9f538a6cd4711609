// A small fleet for the dashboard's tests, written straight into a test hub's derived tables as
// pushes and the monitor would have left them: hosts in two groups (one named like markup, one
// with a bidi mark), each promise's current outcome (hub_promise_state), the control catalogue
// (hub_controls) with owners, severities and framework refs, open fleet deficiencies with who
// was told (hub_notify_groups), a chain in doubt with its open incident, and a policy version
// pending. The expected figures are worked out from the same spec by the tests, not read back.
import { randomBytes, randomUUID } from "node:crypto";
import type { Pool } from "pg";
import { outcomeOrder, type Outcome } from "../../../src/evaluator/outcomes.js";

export const SCRIPT_HOST = "<script>document.title='owned'</script>";
export const BIDI_HOST = "invoice\u202Efdp.exe";

export interface SpecControl {
  control: string;
  title: string;
  owner: string;
  severity: string;
  refs: string[];
}

export const CONTROLS: SpecControl[] = [
  { control: "CTL-AC-01", title: "Privileged access reviewed", owner: "security", severity: "high", refs: ["SOX-ITGC-AC-01"] },
  { control: "CTL-CM-02", title: "Changes approved before deploy", owner: "finance", severity: "medium", refs: ["SOX-ITGC-CM-02"] },
  { control: "CTL-OP-03", title: "Backups taken nightly", owner: "operations", severity: "low", refs: ["SOX-ITGC-OP-03"] },
];

export interface SpecHost {
  name: string;
  group: string;
  /** per control, the outcomes of its two promises on the host */
  outcomes: Record<string, [Outcome, Outcome]>;
  silent?: boolean;
  chain?: "fork" | "rollback";
}

export const HOSTS: SpecHost[] = [
  { name: "pay-db-1", group: "payments", outcomes: { "CTL-AC-01": ["kept", "drift"], "CTL-CM-02": ["kept", "kept"], "CTL-OP-03": ["repaired", "kept"] } },
  { name: "pay-db-2", group: "payments", outcomes: { "CTL-AC-01": ["kept", "kept"], "CTL-CM-02": ["failed", "kept"], "CTL-OP-03": ["kept", "kept"] }, chain: "fork" },
  { name: BIDI_HOST, group: "payments", outcomes: { "CTL-AC-01": ["kept", "kept"], "CTL-CM-02": ["kept", "waived"], "CTL-OP-03": ["kept", "kept"] } },
  { name: "web-1", group: "web", outcomes: { "CTL-AC-01": ["error", "kept"], "CTL-CM-02": ["kept", "kept"], "CTL-OP-03": ["skipped", "skipped"] }, silent: true },
  { name: SCRIPT_HOST, group: "web", outcomes: { "CTL-AC-01": ["drift", "kept"], "CTL-CM-02": ["kept", "kept"], "CTL-OP-03": ["kept", "kept"] } },
];

export interface SeededFleet {
  hosts: Map<string, string>;
  incident: number;
  deficiencies: { silent: string; chain: string; wave: string };
  pendingPolicy: { byOther: number; byApprover: number };
}

const rank = (o: Outcome) => outcomeOrder.indexOf(o);
export const worst = (pair: readonly Outcome[]): Outcome => pair.reduce((w, o) => (rank(o) > rank(w) ? o : w), "skipped" as Outcome);

/** The verdict counts (hosts per worst outcome) the spec implies, for hosts and controls passing the filters. */
export function expectedCounts(host: (h: SpecHost) => boolean, control: (c: SpecControl) => boolean): Record<Outcome, number> {
  const out = Object.fromEntries(outcomeOrder.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const h of HOSTS.filter(host)) for (const c of CONTROLS.filter(control)) out[worst(h.outcomes[c.control]!)]++;
  return out;
}

async function deficiency(pool: Pool, id: string, kind: string, hostId: string | null, host: string, control: SpecControl | { control: string; title: string }, outcome: string, reason: string, ageMs: number): Promise<void> {
  const at = new Date(Date.now() - ageMs);
  const body = { id, key: `${kind}:${host}`, status: "open", outcome, host, control: { id: control.control, title: control.title, severity: "high", key: false }, reason, differences: [], openedAt: at.toISOString(), fleet: true };
  await pool.query("INSERT INTO hub_fleet_deficiencies (id, key, kind, status, host_id, body, opened_at, updated_at) VALUES ($1, $2, $3, 'open', $4, $5, $6, $6)", [id, body.key, kind, hostId, body, at]);
}

export async function seedDashboardFleet(pool: Pool, approver: string): Promise<SeededFleet> {
  const content = `sha256:${randomBytes(16).toString("hex")}`;
  await pool.query("INSERT INTO hub_policy_contents (content, controls) VALUES ($1, $2)", [content, CONTROLS.length]);
  for (const c of CONTROLS) {
    await pool.query("INSERT INTO hub_controls (control, title, owner, severity, key_control, refs, promises, content) VALUES ($1, $2, $3, $4, $5, $6, 2, $7)", [c.control, c.title, c.owner, c.severity, c.control === "CTL-AC-01", c.refs, content]);
  }
  const hosts = new Map<string, string>();
  for (const h of HOSTS) {
    const id = randomUUID();
    hosts.set(h.name, id);
    await pool.query(
      "INSERT INTO hub_hosts (id, name, public_key, fingerprint, host_group, last_chain, last_push_at, chain_status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      [id, h.name, randomBytes(32), `sha256:${randomBytes(16).toString("hex")}`, h.group, randomBytes(32), new Date(Date.now() - (h.silent ? 3 * 3600_000 : 60_000)), h.chain ?? "ok"],
    );
    let seq = 0;
    for (const [control, pair] of Object.entries(h.outcomes)) {
      for (const [i, outcome] of pair.entries()) {
        seq++;
        await pool.query("INSERT INTO hub_promise_state (host_id, key, control, type, promiser, outcome, since, seq, reason) VALUES ($1, $2, $3, 'file', $4, $5, $6, $7, '')", [id, `${control}/file/p${i}`, control, `/etc/p${i}`, outcome, new Date().toISOString(), seq]);
      }
    }
  }
  const forked = hosts.get("pay-db-2")!;
  const inc = await pool.query<{ id: string }>("INSERT INTO hub_incidents (host_id, kind, epoch, seq, message) VALUES ($1, 'fork', 0, 3, 'two histories after record 3') RETURNING id", [forked]);
  const silent = "d-silent01";
  const chain = "d-chain001";
  const wave = "d-wave0001";
  await deficiency(pool, silent, "silent", hosts.get("web-1")!, "web-1", { control: "hub.reporting", title: "hosts report" }, "failed", "no push for 3 h (cadence 5 min)", 2 * 3600_000);
  await deficiency(pool, chain, "chain", forked, "pay-db-2", { control: "hub.chain", title: "chains hold" }, "failed", "its chain forked after record 3", 26 * 3600_000);
  await deficiency(pool, wave, "mass-drift", null, "fleet", CONTROLS[0]!, "drift", "CTL-AC-01 drifted on 2 hosts in 10 min", 600_000);
  const told = (ids: string[]) => ({ told: Object.fromEntries(ids.map((i) => [i, "open/failed"])), lastSentAt: Date.now() - 300_000, messages: [] });
  await pool.query("INSERT INTO hub_notify_groups (route, group_key, recipient, body) VALUES ('r0', 'g1', 'security/mail/alice@example.com', $1), ('r0', 'g2', 'oncall/sms/bob', $2)", [told([chain, wave]), told([chain])]);
  const version = async (author: string, message: string) =>
    Number((await pool.query<{ id: string }>("INSERT INTO hub_policy_versions (content, files, author, message, status) VALUES ($1, '[]', $2, $3, 'pending') RETURNING id", [content, author, message])).rows[0]!.id);
  const byOther = await version("someone-else", "CHG-101 tighten sudoers");
  const byApprover = await version(approver, "CHG-102 the approver's own change");
  return { hosts, incident: Number(inc.rows[0]!.id), deficiencies: { silent, chain, wave }, pendingPolicy: { byOther, byApprover } };
}
