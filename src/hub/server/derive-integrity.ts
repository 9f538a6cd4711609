// What a push says of a host's approved integrity states, kept for the control's page on the
// dashboard (hub_integrity_events): each approval record (paths first seen by a run, approved by
// `covenant approve` or `integrity init`, or approved again by a repair), and each change to a
// deficient outcome that carries file-integrity findings (a change nobody approved). Read as
// report/report-tally.ts reads them from a host's own history, defensively: a body the hub cannot
// read is stored as evidence but derives nothing here.
import type { PoolClient } from "pg";
import type { PushedRecord } from "../protocol.js";

export interface IntegrityEvent {
  seq: number;
  kind: "approval" | "unapproved";
  control: string | null;
  promise: string | null;
  targets: string[];
  time: string;
  detail: Record<string, unknown>;
}

const DEFICIENT = new Set(["drift", "failed", "error"]);
/** The most paths and kinds kept of one event: the host's own history holds the rest. */
const MAX_LISTED = 50;

const str = (v: unknown, max = 4096): string | undefined => (typeof v === "string" && v.length <= max ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && x.length <= 4096).slice(0, MAX_LISTED) : []);

/** An approval record's event, or undefined when it is not one the hub can read. */
export function approvalEvent(r: PushedRecord, b: Record<string, unknown>): IntegrityEvent | undefined {
  const how = str(b["how"], 32);
  if (!how) return undefined;
  const detail: Record<string, unknown> = { how, paths: Number.isSafeInteger(b["paths"]) ? b["paths"] : 0, sample: strings(b["sample"]) };
  for (const k of ["by", "reason", "at"] as const) if (str(b[k], 1000) !== undefined) detail[k] = b[k];
  return { seq: r.seq, kind: "approval", control: null, promise: str(b["promise"]) ?? null, targets: strings(b["targets"]), time: r.time, detail };
}

/** A change record's unapproved integrity change: a deficient outcome with findings. */
export function unapprovedEvent(r: PushedRecord, b: Record<string, unknown>, control: string, key: string, to: string): IntegrityEvent | undefined {
  const findings = b["findings"];
  if (!DEFICIENT.has(to) || !Array.isArray(findings) || findings.length === 0) return undefined;
  const paths: string[] = [];
  const kinds = new Set<string>();
  for (const f of findings as { path?: unknown; kinds?: unknown }[]) {
    if (typeof f !== "object" || f === null) continue;
    if (typeof f.path === "string" && paths.length < MAX_LISTED) paths.push(f.path.slice(0, 4096));
    for (const k of strings(f.kinds)) kinds.add(k.slice(0, 64));
  }
  return { seq: r.seq, kind: "unapproved", control, promise: key, targets: [], time: r.time, detail: { paths, kinds: [...kinds].slice(0, MAX_LISTED), findings: findings.length } };
}

export async function storeIntegrityEvents(client: PoolClient, host: string, events: readonly IntegrityEvent[], receivedAt: Date): Promise<void> {
  if (events.length === 0) return;
  await client.query(
    `INSERT INTO hub_integrity_events (host_id, seq, kind, control, promise, targets, host_time, received_at, detail)
     SELECT $1, e.seq, e.kind, e.control, e.promise, ARRAY(SELECT jsonb_array_elements_text(e.targets)), e.time, $2, e.detail
     FROM jsonb_to_recordset($3::jsonb) AS e (seq bigint, kind text, control text, promise text, targets jsonb, time text, detail jsonb)
     ON CONFLICT DO NOTHING`,
    [host, receivedAt, JSON.stringify(events)],
  );
}
