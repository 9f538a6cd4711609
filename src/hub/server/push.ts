// Takes a host's push: the signature over the body's exact bytes first (host-auth.ts: nothing of
// an unsigned body is read beyond its host id), then the body's shape, the chain values it claims, and then,
// under a lock on the host's row so that concurrent pushes of one host (a retry racing the
// original, two hub processes) take turns, what judge.ts says of it against what the hub holds.
// A refusal that shows tampering (a fork, a rollback, records the host never sent) opens an
// incident in the same transaction; an older copy of a push the hub took (stale) changes nothing;
// records are stored with the hub's own receive time. The
// statements of the usual push are named (prepared once per pooled connection), so PostgreSQL
// parses and plans each once rather than at every push (bench/hub's profile).
import type { KeyObject } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import { hubChainNext, hubChainStart, pushShapeProblem, readPushedLine, type PushAccepted, type PushBody, type PushRefused } from "../protocol.js";
import { judgePush, type Chained, type Held } from "./judge.js";
import { adoptRotatedKey, type RotationChain } from "./key-rotation.js";
import { authenticateHost, type KnownHost } from "./host-auth.js";
import { error, type ErrorBody, type Reply } from "./reply.js";
import { deriveState } from "./derive.js";
import { decisionsForReply, deriveDecisions } from "./decisions.js";
import { CLOCK_BACK, clockWithin, openClockIncident, openIncident } from "./incidents.js";
import { inTransaction } from "../db/transaction.js";

export interface PushOptions {
  /** the largest difference between a host's clock and the hub's that is not flagged, in ms */
  clockToleranceMs: number;
  now?: () => Date;
  /** the hub's signing key's private half: what signs the decisions a reply carries (none carried without it) */
  decisionKey?: KeyObject;
}

/** The verdict of the hub on one push request. */
export async function takePush(pool: Pool, raw: Buffer, hostHeader: string | undefined, signature: string | undefined, opts: PushOptions, keyHeader?: string, known?: KnownHost): Promise<Reply<PushAccepted | PushRefused | ErrorBody>> {
  const sender = await authenticateHost(pool, raw, { host: hostHeader, signature, key: keyHeader }, "push", known);
  if ("status" in sender) return sender;
  const read = readBody(raw, sender.host.id);
  if ("message" in read) return error(400, read.message);
  if (sender.rotation) read.rotation = sender.rotation;
  // inTransaction: a connection PostgreSQL drops mid-push is said through the failing query, not an uncaught error
  return inTransaction(pool, (client) => judgeAndStore(client, read, opts.now?.() ?? new Date(), opts.clockToleranceMs, opts.decisionKey));
}

interface ReadPush {
  body: PushBody;
  records: Chained[];
  after: Buffer;
  /** the key a rotation record in the push puts in force; `signed` when the push is signed with it */
  rotation?: RotationChain & { signed: boolean };
}

/** The body parsed and checked for shape, each record read and chained; or what is wrong. */
function readBody(raw: Buffer, hostId: string): ReadPush | { message: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    return { message: "the body is not JSON" };
  }
  const problem = pushShapeProblem(parsed);
  if (problem) return { message: `malformed push: ${problem}` };
  const body = parsed as PushBody;
  if (body.host !== hostId) return { message: "the push names another host than the one that signed it" };
  const after = Buffer.from(body.after.chain, "hex");
  const records: Chained[] = [];
  let chain: Buffer = after;
  let prev = body.after.seq;
  for (let i = 0; i < body.records.length; i++) {
    const r = readPushedLine(body.records[i]!);
    if ("problem" in r) return { message: `malformed push: record ${i} ${r.problem}` };
    if (r.seq <= prev) return { message: `malformed push: record ${i} (number ${r.seq}) does not follow record ${prev}` };
    prev = r.seq;
    chain = hubChainNext(chain, r.line);
    records.push({ ...r, chain });
  }
  if (!chain.equals(Buffer.from(body.chain, "hex"))) return { message: "malformed push: the chain value it names is not the one its records make" };
  if (records.length && (body.head === null || body.head.seq < prev)) return { message: "malformed push: the host's head is below its last record" };
  // the hub excuses holes at or below the cut for good (hub_hosts.prune_cut): a cut at or
  // past the head would excuse every hole the host's history ever has
  if (body.prunedTo !== undefined && (body.head === null || body.prunedTo >= body.head.seq)) return { message: "malformed push: prunedTo must be below the host's head (a prune's record follows its cut)" };
  if (body.after.seq === 0 && !after.equals(hubChainStart(hostId))) return { message: "malformed push: a push from the start must begin at the chain's start" };
  return { body, records, after };
}

interface HostRow {
  epoch: number;
  last_seq: string;
  last_chain: Buffer;
  prune_cut: string | null;
  records: string;
  last_sent_at: string | null;
}

async function judgeAndStore(client: PoolClient, push: ReadPush, now: Date, toleranceMs: number, decisionKey: KeyObject | undefined): Promise<Reply<PushAccepted | PushRefused | ErrorBody>> {
  const { body } = push;
  const row = (await client.query<HostRow & { revoked_at: Date | null }>({ name: "hub-push-lock", text: "SELECT epoch, last_seq, last_chain, prune_cut, records, last_sent_at, revoked_at FROM hub_hosts WHERE id = $1 FOR UPDATE", values: [body.host] })).rows[0];
  if (!row || row.revoked_at) return error(403, "this host's enrolment was revoked: the hub takes nothing from it");
  const lastSeq = Number(row.last_seq);
  const held: Held = {
    lastSeq,
    lastChain: row.last_chain,
    start: hubChainStart(body.host),
    pruneCut: row.prune_cut !== null ? Number(row.prune_cut) : lastSeq === 0 ? (body.prunedTo ?? null) : null,
    lastSentAt: sentAtMs(row.last_sent_at),
  };
  // judgePush reads the hub's chain value of the record the push follows only when that record
  // is neither the start nor the hub's last (the host row holds those two), and those of the
  // records above it that the hub holds: for a push that follows on from the hub's last record,
  // the usual one, there is nothing to read, and no round trip is made
  const followsHeld = body.after.seq === 0 || body.after.seq === lastSeq;
  const overlap = await overlapOf(client, body.host, row.epoch, followsHeld ? body.after.seq + 1 : body.after.seq, Math.min(lastSeq, push.records.at(-1)?.seq ?? body.after.seq));
  const verdict = judgePush(held, { after: { seq: body.after.seq, chain: push.after }, records: push.records, head: body.head, sentAt: Date.parse(body.sentAt) }, overlap);
  const holds = { seq: lastSeq, chain: row.last_chain.toString("hex") };
  const skew = Date.parse(body.sentAt) - now.getTime();
  if (verdict.kind === "stale") {
    // answered as a duplicate is, from what the hub holds, and nothing changes: not the host's
    // position, its clock, nor a decision's delivery (an old copy, perhaps replayed by someone
    // else, is not the host speaking now); an honest host moves its position on to `holds`
    if (push.rotation?.signed) return error(401, "the push is signed with a key that only a rotation record the hub does not take from it puts in force");
    return { status: 200, body: { status: "accepted", holds, stored: 0, receivedAt: now.toISOString(), clockSkewMs: skew, stale: true } };
  }
  if (verdict.kind === "refuse") {
    if (verdict.incident) await openIncident(client, body.host, row.epoch, verdict.reason, verdict.seq ?? null, verdict.message, verdict.detail ?? {});
    const refused: PushRefused = { status: "refused", reason: verdict.reason, message: verdict.message, holds, ...(verdict.seq !== undefined ? { seq: verdict.seq } : {}) };
    return { status: 409, body: refused };
  }
  const fresh = push.records.slice(verdict.from);
  // the key in force after this push: that of the last rotation record it stores. A push signed by
  // a rotated key is taken when that key's record is stored now, or lies ahead of all it carries
  // (a backlog longer than one push: the record comes in a later push, and the key with it)
  const freshSeqs = new Set(fresh.map((r) => r.seq));
  const taken = push.rotation?.steps.filter((s) => freshSeqs.has(s.seq)).at(-1);
  const ahead = push.rotation !== undefined && push.rotation.seq > (push.records.at(-1)?.seq ?? body.after.seq);
  if (push.rotation?.signed && taken?.seq !== push.rotation.seq && !ahead) {
    return error(401, "the push is signed with a key that only a rotation record the hub does not take from it puts in force");
  }
  // a copy of a push that brings nothing the hub lacks, signed no later than the last push the hub
  // took, is old news (a late retry, or someone replaying the host's last heartbeat to keep a
  // silent host looking alive): answered as stale, and the host's last push, clock and decisions'
  // delivery stay as they are. An honest host's next push is signed later, or brings records.
  if (fresh.length === 0 && held.lastSentAt !== null && Date.parse(body.sentAt) <= held.lastSentAt) {
    return { status: 200, body: { status: "accepted", holds, stored: 0, receivedAt: now.toISOString(), clockSkewMs: skew, stale: true } };
  }
  if (taken) await adoptRotatedKey(client, body.host, taken);
  if (fresh.length) {
    await storeRecords(client, body.host, row.epoch, fresh, now);
    await deriveState(client, body.host, fresh, now);
    await deriveDecisions(client, body.host, fresh, body.deficiencyKey);
  }
  // the host's position, and the close of an open clock incident when its clock is back within
  // the tolerance, in one statement (one round trip); an incident to open is the rare case.
  // last_seq cannot go backwards: pushes of one host take turns on the row lock, and the verdict's
  // last is at least what the row held. The head can: a retry of an older push, arriving after a
  // newer one, carries the head the host had then (greatest keeps the newest)
  const clockFine = clockWithin(skew, toleranceMs);
  await client.query({
    name: "hub-push-host",
    text: `WITH clock_back AS (UPDATE hub_incidents SET resolved_at = now(), resolved_by = $12 WHERE $11 AND host_id = $1 AND kind = 'clock' AND resolved_at IS NULL)
     UPDATE hub_hosts SET last_seq = $2, last_chain = $3, records = records + $4, first_seq = coalesce(first_seq, $5), prune_cut = coalesce(prune_cut, $6),
       head_seq = greatest(head_seq, $7), last_push_at = $8, last_sent_at = $9, clock_skew_ms = $10 WHERE id = $1`,
    values: [body.host, verdict.last.seq, verdict.last.chain, fresh.length, fresh[0]?.seq ?? null, held.pruneCut, body.head?.seq ?? null, now, body.sentAt, skew, clockFine, CLOCK_BACK],
  });
  if (!clockFine) await openClockIncident(client, body.host, row.epoch, skew, toleranceMs);
  // after the records' answers to decisions are derived: a decision the host answered is not carried again
  const decisions = await decisionsForReply(client, body.host, decisionKey, now);
  return {
    status: 200,
    body: { status: "accepted", holds: { seq: verdict.last.seq, chain: verdict.last.chain.toString("hex") }, stored: fresh.length, receivedAt: now.toISOString(), clockSkewMs: skew, ...(decisions.length ? { decisions } : {}) },
  };
}

/** A stored sentAt as ms, or null (none yet, or not a time: then no push is judged stale against it). */
function sentAtMs(text: string | null): number | null {
  const ms = text === null ? NaN : Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

/** The hub's chain values for a host's records numbered from `from` to `to`, both included. */
async function overlapOf(client: PoolClient, host: string, epoch: number, from: number, to: number): Promise<Map<number, Buffer>> {
  const overlap = new Map<number, Buffer>();
  if (to < from || to === 0) return overlap;
  const rows = await client.query<{ seq: string; chain: Buffer }>({ name: "hub-push-overlap", text: "SELECT seq, chain FROM hub_records WHERE host_id = $1 AND epoch = $2 AND seq BETWEEN $3 AND $4 ORDER BY seq", values: [host, epoch, from, to] });
  for (const r of rows.rows) overlap.set(Number(r.seq), r.chain);
  return overlap;
}

async function storeRecords(client: PoolClient, host: string, epoch: number, records: readonly Chained[], now: Date): Promise<void> {
  await client.query({
    name: "hub-push-records",
    text: `INSERT INTO hub_records (host_id, epoch, seq, kind, run, host_time, received_at, chain, line)
     SELECT $1, $2, r.seq, r.kind, r.run, r.time, $3, r.chain, r.line
     FROM unnest($4::bigint[], $5::text[], $6::bigint[], $7::text[], $8::bytea[], $9::text[]) AS r (seq, kind, run, time, chain, line)`,
    values: [host, epoch, now, records.map((r) => r.seq), records.map((r) => r.kind), records.map((r) => r.run), records.map((r) => r.time), records.map((r) => r.chain), records.map((r) => r.line)],
  });
}

