// The fleet's state, derived from the records a push brings, in the push's transaction: each
// promise's current outcome (hub_promise_state), each change (hub_changes), and each host's last
// run that counts as operation (dry runs and sandbox runs do not). Only what the records say,
// read defensively: a record the hub cannot read as Covenant writes it is stored (it is evidence)
// but derives nothing.
import { createHash } from "node:crypto";
import type { PoolClient } from "pg";
import { outcomeOrder } from "../../evaluator/outcomes.js";
import type { PushedRecord } from "../protocol.js";
import { contentKey } from "../policy/versions.js";
import { noteUncheckedContent } from "./catalogue.js";
import { MIN_INTERVALS } from "../monitor/cadence.js";
import { bodyOf, text } from "./record-body.js";
import { approvalEvent, storeIntegrityEvents, unapprovedEvent, type IntegrityEvent } from "./derive-integrity.js";

const OUTCOMES = new Set<string>(outcomeOrder);

/** How many run summaries' finish times a host keeps for its learned cadence (ten intervals). */
export const RECENT_RUNS = 11;

interface Change {
  seq: number;
  key: string;
  control: string;
  type: string;
  promiser: string;
  from: string | null;
  to: string;
  reason: string;
  time: string;
}

interface LastRun {
  seq: number;
  finished: string;
  kind: string;
  policy: string;
  promises: number;
  counts: Record<string, number>;
}

function changeOf(r: PushedRecord, b: Record<string, unknown>): Change | undefined {
  const [key, control, type, promiser, reason] = [text(b["key"]), text(b["control"], 256), text(b["type"], 64), text(b["promiser"]), text(b["reason"], 16_384) ?? ""];
  const to = text(b["to"], 16);
  const from = b["from"] === null ? null : text(b["from"], 16);
  if (!key || !control || !type || promiser === undefined || !to || !OUTCOMES.has(to) || (from !== null && (from === undefined || !OUTCOMES.has(from)))) return undefined;
  return { seq: r.seq, key, control, type, promiser, from, to, reason, time: r.time };
}

function runOf(r: PushedRecord, b: Record<string, unknown>): LastRun | undefined {
  if (b["dryRun"] === true || b["sandbox"] === true) return undefined;
  const finished = text(b["finished"], 64);
  const policy = text(b["policy"], 128);
  const counts = b["counts"];
  if (!finished || !policy || typeof counts !== "object" || counts === null || !Number.isSafeInteger(b["promises"])) return undefined;
  const clean: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts)) if (OUTCOMES.has(k) && Number.isSafeInteger(v)) clean[k] = v as number;
  return { seq: r.seq, finished, kind: b["kind"] === "watch" ? "watch" : "run", policy, promises: b["promises"] as number, counts: clean };
}

/**
 * A policy record's hash and content key (from its files' sha256, as the hub keys published
 * versions). Each file's sha256 must be that of its text: the content key names the texts the hub
 * catalogues under it, and a host that could pair a version's hashes with texts of its own would
 * have the catalogue keep its texts for that version (the hub reads each content once).
 */
function policyOf(b: Record<string, unknown>): { hash: string; content: string; files: { path: string; text: string }[]; at: number } | undefined {
  const hash = text(b["hash"], 128);
  const files = b["files"];
  if (!hash || !Array.isArray(files) || files.length === 0) return undefined;
  const hashes: string[] = [];
  const texts: { path: string; text: string }[] = [];
  for (const f of files as { sha256?: unknown; path?: unknown; text?: unknown }[]) {
    const h = typeof f === "object" && f !== null ? text(f.sha256, 64) : undefined;
    if (!h || typeof f.path !== "string" || typeof f.text !== "string") return undefined;
    if (createHash("sha256").update(f.text, "utf8").digest("hex") !== h) return undefined;
    hashes.push(h);
    texts.push({ path: f.path, text: f.text });
  }
  return { hash, content: contentKey(hashes), files: texts, at: Date.parse(text(b["at"], 64) ?? "") };
}

/** A policy record's content key, files, and the date the host adopted it (never later than the hub received it); undefined when it derives nothing. */
export function pushedPolicy(line: string, hostTime: string, receivedAt: Date): { hash: string; content: string; files: { path: string; text: string }[]; adopted: Date } | undefined {
  const b = bodyOf(line);
  const p = b ? policyOf(b) : undefined;
  if (!p) return undefined;
  // dated by when the host took the policy in (the record's time when the body says none), and
  // never later than the hub received it: a host dating its policy in the future would otherwise
  // keep its design over every content adopted until then
  const at = Number.isFinite(p.at) ? p.at : Date.parse(hostTime);
  return { hash: p.hash, content: p.content, files: p.files, adopted: Number.isFinite(at) && at < receivedAt.getTime() ? new Date(at) : receivedAt };
}

/** Derives the fleet's state from a push's new records. */
export async function deriveState(client: PoolClient, host: string, records: readonly PushedRecord[], receivedAt: Date): Promise<void> {
  const latest = new Map<string, Change>();
  const changes: Change[] = [];
  let run: LastRun | undefined;
  const finishes: string[] = [];
  // when the last run's policy came into force: the first run of the push's final stretch of runs
  // on that policy (a push after the hub was away carries many runs, and may change policy midway)
  let adoptedAt: string | undefined;
  const policies: { hash: string; content: string; seq: number }[] = [];
  const integrity: IntegrityEvent[] = [];
  for (const r of records) {
    if (r.kind !== "change" && r.kind !== "run" && r.kind !== "policy" && r.kind !== "approval") continue;
    const b = bodyOf(r.line);
    if (!b) continue;
    if (r.kind === "change") {
      const c = changeOf(r, b);
      if (c) {
        changes.push(c);
        latest.set(c.key, c);
        const unapproved = unapprovedEvent(r, b, c.control, c.key, c.to);
        if (unapproved) integrity.push(unapproved);
      }
    } else if (r.kind === "approval") {
      const a = approvalEvent(r, b);
      if (a) integrity.push(a);
    } else if (r.kind === "run") {
      const counted = runOf(r, b);
      // kept as the hub writes times, so that the database reads them back as times
      const finished = counted ? Date.parse(counted.finished) : NaN;
      if (Number.isFinite(finished)) finishes.push(new Date(finished).toISOString());
      if (counted && counted.policy !== run?.policy) adoptedAt = counted.finished;
      run = counted ?? run;
    } else if (r.kind === "policy") {
      const p = pushedPolicy(r.line, r.time, receivedAt);
      if (p) policies.push({ hash: p.hash, content: p.content, seq: r.seq });
    }
  }
  if (changes.length) {
    await client.query(
      `INSERT INTO hub_changes (host_id, seq, key, control, from_outcome, to_outcome, host_time, received_at, reason)
       SELECT $1, c.seq, c.key, c.control, c.from_o, c.to_o, c.time, $2, c.reason
       FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) AS c (seq, key, control, from_o, to_o, time, reason)
       ON CONFLICT DO NOTHING`,
      [host, receivedAt, changes.map((c) => c.seq), changes.map((c) => c.key), changes.map((c) => c.control), changes.map((c) => c.from), changes.map((c) => c.to), changes.map((c) => c.time), changes.map((c) => c.reason)],
    );
    const l = [...latest.values()];
    await client.query(
      `INSERT INTO hub_promise_state (host_id, key, control, type, promiser, outcome, since, seq, reason)
       SELECT $1, s.key, s.control, s.type, s.promiser, s.outcome, s.since, s.seq, s.reason
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[]) AS s (key, control, type, promiser, outcome, since, seq, reason)
       ON CONFLICT (host_id, key) DO UPDATE SET control = excluded.control, type = excluded.type, promiser = excluded.promiser, outcome = excluded.outcome,
         since = excluded.since, seq = excluded.seq, reason = excluded.reason WHERE hub_promise_state.seq < excluded.seq`,
      [host, l.map((c) => c.key), l.map((c) => c.control), l.map((c) => c.type), l.map((c) => c.promiser), l.map((c) => c.to), l.map((c) => c.time), l.map((c) => c.seq), l.map((c) => c.reason)],
    );
  }
  for (const p of policies) {
    await client.query("INSERT INTO hub_host_policies (host_id, policy_hash, content, first_record) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", [host, p.hash, p.content, p.seq]);
    // checked and catalogued afterwards, off the push's path (content-checker.ts)
    await noteUncheckedContent(client, p.content, receivedAt);
  }
  if (run) {
    // the latest finish times, and the cadence they teach (the median interval, as monitor/cadence.ts
    // learnedInterval computes it), kept for the monitor in the same statement
    await client.query(
      `UPDATE hub_hosts SET last_run_seq = $2, last_run_finished = $3, last_run_kind = $4, policy_hash = $5, promises = $6, counts = $7,
         recent_runs = n.runs,
         learned_every_ms = (SELECT CASE WHEN count(*) >= ${MIN_INTERVALS} THEN round(percentile_cont(0.5) WITHIN GROUP (ORDER BY g)) END
           FROM (SELECT extract(epoch FROM t - lag(t) OVER (ORDER BY i)) * 1000 AS g FROM unnest(n.runs::timestamptz[]) WITH ORDINALITY AS u (t, i)) AS x WHERE g > 0)
       FROM (SELECT (recent_runs || $8::text[])[greatest(1, cardinality(recent_runs) + cardinality($8::text[]) - ${RECENT_RUNS - 1}):] AS runs FROM hub_hosts WHERE id = $1) AS n
       WHERE id = $1`,
      [host, run.seq, run.finished, run.kind, run.policy, run.promises, run.counts, finishes.slice(-RECENT_RUNS)],
    );
    // which content it runs, and since when: a policy version's adoption by this host
    await client.query(
      `UPDATE hub_hosts h SET policy_since = CASE WHEN h.policy_content IS DISTINCT FROM p.content THEN $3 ELSE h.policy_since END, policy_content = p.content
       FROM hub_host_policies p WHERE h.id = $1 AND p.host_id = $1 AND p.policy_hash = $2`,
      [host, run.policy, adoptedAt ?? run.finished],
    );
  }
  await storeIntegrityEvents(client, host, integrity, receivedAt);
}
