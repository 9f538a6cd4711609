// The host's records as the hub takes them: each one line exactly as an evidence pack's extract
// holds it (evidence/manifest.ts extractLine, the MAC in hex), chained with the hub's sha256 chain
// (hub/protocol.ts). Records are read through the store's scan, which checks each MAC against the
// record before it: a record that fails its check is never sent as if the host had written it.
import { extractLine } from "../../evidence/manifest.js";
import type { ScannedRecord, StateStore } from "../../store/store.js";
import { hubChainNext, hubChainStart, MAX_LINE_BYTES, MAX_PUSH_BYTES, MAX_PUSH_RECORDS, type ChainPoint } from "../protocol.js";

/** Room kept in a push body for everything but its records (host, key, chains, head: ~400 bytes). */
const ENVELOPE_BYTES = 4096;

export interface Batch {
  /** the records after `after`, in order, as lines */
  records: string[];
  /** the chain value after each line (hex) */
  chains: string[];
  /** the record number of each line */
  seqs: number[];
  /** the host's newest record when the batch was read */
  head: { seq: number; mac: string } | null;
  /** why the batch stops short of the head: a record that fails its check, or one too large to send */
  problem?: string;
  /** the newest prune's cut, when the batch starts at or below it (records there are not consecutive: protocol.ts PushBody.prunedTo) */
  prunedTo?: number;
}

/** The bytes a line adds to a push body: its JSON string and a comma. */
function encodedBytes(line: string): number {
  return Buffer.byteLength(JSON.stringify(line), "utf8") + 1;
}

/** The line of a record the scan vouched for. */
export function lineOf(r: ScannedRecord): string {
  return extractLine({ seq: r.seq, kind: r.kind, run: r.run, time: r.time, body: r.text, mac: r.mac ? r.mac.toString("hex") : "" }, r.body);
}

/**
 * The records after `after.seq`, at most `maxRecords` of them and `maxBytes` of push body, with
 * their chain values from `after.chain`. One read transaction: the head is the store's last record
 * as the same read saw it.
 */
export function readBatch(store: StateStore, after: ChainPoint, limits: { maxRecords?: number; maxBytes?: number } = {}): Batch {
  const maxRecords = Math.min(limits.maxRecords ?? MAX_PUSH_RECORDS, MAX_PUSH_RECORDS);
  const room = Math.min(limits.maxBytes ?? MAX_PUSH_BYTES, MAX_PUSH_BYTES) - ENVELOPE_BYTES;
  const batch: Batch = { records: [], chains: [], seqs: [], head: null };
  let chain: Buffer = Buffer.from(after.chain, "hex");
  let bytes = 0;
  let stopped = false;
  const scan = store.scanHistory({ fromSeq: after.seq + 1, toSeq: after.seq + maxRecords }, (r) => {
    if (stopped) return;
    if (!r.verified || !r.mac) {
      batch.problem = `record ${r.seq} fails its check (${r.problem ?? "it has no MAC"}): it is not sent; \`covenant verify\` says what happened`;
      stopped = true;
      return;
    }
    const line = lineOf(r);
    const size = encodedBytes(line);
    if (line.length > MAX_LINE_BYTES || size > room) {
      if (batch.records.length === 0) batch.problem = `record ${r.seq} is ${size} bytes as a line, more than a push may carry`;
      stopped = true;
      return;
    }
    if (bytes + size > room) {
      stopped = true;
      return;
    }
    bytes += size;
    chain = hubChainNext(chain, line);
    batch.records.push(line);
    batch.chains.push(chain.toString("hex"));
    batch.seqs.push(r.seq);
  });
  batch.head = scan.storeHead ?? null;
  if (scan.checkpoint && after.seq < scan.checkpoint.cut.seq) batch.prunedTo = scan.checkpoint.cut.seq;
  // the records read reached the store's end: its anchors must vouch for that end, or it was cut or altered
  if (scan.end && batch.problem === undefined && (batch.seqs.at(-1) ?? after.seq) >= (batch.head?.seq ?? 0)) {
    batch.problem = `the end of the history is not what its anchors vouch for (${scan.end.message}): nothing past record ${after.seq} is sent; \`covenant verify\` says what happened`;
    batch.records = [];
    batch.chains = [];
    batch.seqs = [];
  }
  return batch;
}

/**
 * The hub chain value after record `to`, computed again from a point of the chain (`from`: a
 * record and the chain value after it; record 0 and the chain's start for the whole history): what
 * the host would have sent the hub. Undefined, with why, when the host cannot (records in the
 * range were pruned, or one fails its check).
 */
export function chainBetween(store: StateStore, from: ChainPoint, to: number): { chain: string } | { cannot: string } {
  let chain: Buffer = Buffer.from(from.chain, "hex");
  let expected = from.seq + 1;
  let cannot: string | undefined;
  if (to > from.seq) {
    store.scanHistory({ fromSeq: from.seq + 1, toSeq: to }, (r) => {
      if (cannot !== undefined) return;
      if (r.seq !== expected) cannot = r.seq > expected ? `records ${expected} to ${r.seq - 1} are no longer in this store (pruned)` : `record ${r.seq} is out of order`;
      else if (!r.verified) cannot = `record ${r.seq} fails its check`;
      else chain = hubChainNext(chain, lineOf(r));
      expected = r.seq + 1;
    });
  }
  if (cannot !== undefined) return { cannot };
  if (expected < to + 1) return { cannot: `this store holds records only up to ${expected - 1}` };
  return { chain: chain.toString("hex") };
}

/** The hub chain value after record `seq`, from the host's first record (chainBetween). */
export function chainThrough(store: StateStore, host: string, seq: number): { chain: string } | { cannot: string } {
  return chainBetween(store, { seq: 0, chain: hubChainStart(host).toString("hex") }, seq);
}
