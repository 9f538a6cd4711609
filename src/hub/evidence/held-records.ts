// A host's records as the hub holds them (hub_records: each line as the host pushed it, the hub's
// chain value after it and when the hub received it), read back in record order a batch at a time,
// and each turned into the ScannedRecord a report's pass takes (report/report-build.ts). The hub
// has no host key, so it cannot check a record's MAC: what it checks is its own chain, recomputed
// from the lines (a line changed in the database, or one removed or inserted, breaks it) and that
// record numbers only go up. A record that fails is given to the pass as unverified, and named.
import type { Pool } from "pg";
import { hubChainNext, hubChainStart } from "../../store/hub-chain.js";
import type { ScannedRecord } from "../../store/store.js";

const BATCH = 2_000;

/** One record as the hub holds it. */
export interface HeldRecord {
  seq: number;
  kind: string;
  run: number;
  /** the host's clock, as the record says */
  time: string;
  /** the hub's clock when the push that carried it arrived */
  receivedAt: Date;
  /** the hub's chain value after this record */
  chain: Buffer;
  /** the line exactly as the host pushed it */
  line: string;
}

interface Row {
  seq: string;
  kind: string;
  run: string;
  host_time: string;
  received_at: Date;
  chain: Buffer;
  line: string;
}

/** The host's records of one epoch, from record `fromSeq` to `toSeq` (both included), in order. */
export async function* heldRecords(pool: Pool, hostId: string, epoch: number, fromSeq = 1, toSeq = Number.MAX_SAFE_INTEGER): AsyncGenerator<HeldRecord> {
  let after = fromSeq - 1;
  for (;;) {
    const rows = await pool.query<Row>({
      name: "hub-evidence-records",
      text: "SELECT seq, kind, run, host_time, received_at, chain, line FROM hub_records WHERE host_id = $1 AND epoch = $2 AND seq > $3 AND seq <= $4 ORDER BY seq LIMIT $5",
      values: [hostId, epoch, after, toSeq, BATCH],
    });
    for (const r of rows.rows) yield { seq: Number(r.seq), kind: r.kind, run: Number(r.run), time: r.host_time, receivedAt: r.received_at, chain: r.chain, line: r.line };
    if (rows.rows.length < BATCH) return;
    after = Number(rows.rows.at(-1)!.seq);
  }
}

/** The hub's chain value before a host's record `seq` of an epoch: its start, or the chain after the record before. */
export async function chainBefore(pool: Pool, hostId: string, epoch: number, seq: number): Promise<Buffer> {
  const r = await pool.query<{ chain: Buffer }>("SELECT chain FROM hub_records WHERE host_id = $1 AND epoch = $2 AND seq < $3 ORDER BY seq DESC LIMIT 1", [hostId, epoch, seq]);
  return r.rows[0]?.chain ?? hubChainStart(hostId);
}

/**
 * Checks each record against the one before it as the hub chained them, and reads its line: the
 * record as a report's pass takes it. Keeps the chain value and number of the last record seen.
 */
export class HeldChain {
  private prev: Buffer;
  private prevSeq = 0;
  /** the first record that fails, and why */
  firstProblem: { seq: number; message: string } | undefined;

  constructor(start: Buffer) {
    this.prev = start;
  }

  scanned(h: HeldRecord): ScannedRecord {
    const problem = this.problemOf(h);
    this.prev = h.chain;
    this.prevSeq = h.seq;
    if (problem) this.firstProblem ??= { seq: h.seq, message: problem };
    const parsed = parseLine(h.line);
    return {
      seq: h.seq,
      kind: h.kind as ScannedRecord["kind"],
      run: h.run,
      time: h.time,
      body: parsed.body,
      text: parsed.text,
      verified: problem === undefined && parsed.body !== undefined,
      ...(problem ? { problem } : parsed.body === undefined ? { problem: "its line holds no body the hub can read" } : {}),
      mac: parsed.mac,
    };
  }

  private problemOf(h: HeldRecord): string | undefined {
    if (h.seq <= this.prevSeq) return `its number does not follow record ${this.prevSeq}'s`;
    if (!hubChainNext(this.prev, h.line).equals(h.chain)) return "its line does not chain to the record before it as the hub chained them when it received them: it was changed, or records were removed or inserted, in the hub's database";
    return undefined;
  }
}

/** A pushed line's body (parsed), the body's text as the host stored it, and its MAC. */
function parseLine(line: string): { body: Record<string, unknown> | undefined; text: string; mac: Buffer | undefined } {
  try {
    const v = JSON.parse(line) as { body?: unknown; bodyText?: unknown; mac?: unknown };
    const body = typeof v.body === "object" && v.body !== null && !Array.isArray(v.body) ? (v.body as Record<string, unknown>) : undefined;
    const text = typeof v.bodyText === "string" ? v.bodyText : JSON.stringify(v.body ?? null);
    const mac = typeof v.mac === "string" && /^[0-9a-f]{64}$/.test(v.mac) ? Buffer.from(v.mac, "hex") : undefined;
    return { body, text, mac };
  } catch {
    return { body: undefined, text: "", mac: undefined };
  }
}
