// What a host and the hub say to each other (protocol v1), shared by both sides so that what one
// signs is exactly what the other checks.
//
// The hub has no `host.key`, so it cannot check the records' MACs. It chains each host's records
// again with sha256 alone, as an evidence pack's extract is chained (evidence/manifest.ts):
// c_0 = sha256("covenant hub chain v1\n" + host id), c_i = sha256(c_{i-1} || line_i), where line_i
// is the record as a pack's extract holds it (extractLine). A push carries a run of records, the
// chain value before its first one and after its last, and the host's head; its body's exact bytes
// are signed with the host's Ed25519 key. The hub keeps each record's chain value, so that a push
// that re-sends records it holds is recognised as the same (idempotent) or as a fork, and a host
// whose head is below what it already sent has been rolled back, unless the push is an older copy
// signed before the last one the hub took (stale: server/judge.ts).
import { createHash, sign, verify, type KeyObject } from "node:crypto";
import { hubChainNext } from "../store/hub-chain.js";

export const PROTOCOL = "covenant-hub";
export const PROTOCOL_VERSION = 1;

/** The most records one push carries, and the most bytes its body may have: a host with more sends several. */
export const MAX_PUSH_RECORDS = 2_000;
export const MAX_PUSH_BYTES = 8 * 1024 * 1024;
/** The most bytes one record's line may have (a record with the largest masked diff is ~300 KB). */
export const MAX_LINE_BYTES = 2 * 1024 * 1024;

/** Headers of a signed request: which host, and its Ed25519 signature over the body's exact bytes. */
export const HOST_HEADER = "covenant-host";
export const SIGNATURE_HEADER = "covenant-signature";
/**
 * The raw Ed25519 public key (base64) that signed a push. The hub needs it only for the push that
 * carries a rotation to a key it does not know yet: it checks the signature with this key before
 * it reads anything of the body, so that a body signed by no one costs it no parsing.
 */
export const KEY_HEADER = "covenant-key";

export { HUB_CHAIN_LABEL, hubChainNext, hubChainStart } from "../store/hub-chain.js";

/** Where a push starts: the first record's number, and the chain value before it (hex). */
export interface ChainPoint {
  seq: number;
  chain: string;
}

/** One push: a run of the host's records after what the hub acknowledged. */
export interface PushBody {
  protocol: typeof PROTOCOL;
  version: typeof PROTOCOL_VERSION;
  kind: "push";
  host: string;
  /** the host's clock when it sent this */
  sentAt: string;
  /** the fingerprint of the key that signed it (evidence's `ed25519:` form) */
  key: string;
  /** the last record the host believes the hub holds, and the chain value after it; seq 0 and the chain's start before any */
  after: ChainPoint;
  /** the records, in order, each one line of JSON as a pack's extract holds it */
  records: string[];
  /** the chain value after the last record (or `after.chain` when there are none) */
  chain: string;
  /** the host's newest record: a head below what the hub holds is a rollback */
  head: { seq: number; mac: string } | null;
  /**
   * when the host's store was pruned (`covenant prune`) before it first pushed: the last record of
   * the newest prune's cut. Records at or below it are not consecutive (a prune keeps only those
   * later records name); the hub accepts holes there, and only there, and holds the host to the
   * claim when the prune's own record arrives.
   */
  prunedTo?: number;
  /**
   * the id the host's deficiency ids are made with (store/deficiencies.ts hostKeyId of its first
   * host key: an HMAC of a label, never the key), so that the hub names deficiencies as the host does
   */
  deficiencyKey?: string;
  /**
   * the host's rotation records past this push's last record (not sent yet), as lines: a host that
   * rotated its signing key with more records unsent than one push carries signs the pushes before
   * the rotation's own with the new key, and these vouch for it (signed by the key the hub knows).
   * The hub takes the new key only from a rotation record it stores.
   */
  rotations?: string[];
}

/** How many rotation records ahead a push may carry. */
export const MAX_ROTATIONS_AHEAD = 16;

/** What the hub holds of a host: its last record and the chain value after it. */
export interface HubPosition {
  seq: number;
  chain: string;
}

/** The hub's answer to a push it took (200). */
export interface PushAccepted {
  status: "accepted";
  /** what the hub now holds of this host */
  holds: HubPosition;
  /** how many of the push's records were new (the rest it held already, unchanged) */
  stored: number;
  /** the hub's clock when it received the push */
  receivedAt: string;
  /** the host's clock minus the hub's, in milliseconds */
  clockSkewMs: number;
  /**
   * the push was an older copy of what the hub holds: its head below the hub's last record, all it
   * carries the same as the hub holds, and sent no later than the last push the hub took (a late
   * retry, a delayed duplicate, a replay). Nothing was stored or changed; `holds` is where the hub is
   */
  stale?: true;
  /**
   * decisions given on the hub for this host that the host has not answered yet (at most
   * MAX_DECISIONS_PER_REPLY, the least carried chosen first, listed oldest first), each signed
   * with the hub's key: carried in every reply until the host's record of it (applied or refused) arrives
   */
  decisions?: SignedDecision[];
}

/** The most decisions one push reply carries: more wait for the next push. */
export const MAX_DECISIONS_PER_REPLY = 20;

/** Where a decision's statement starts: what the hub signs cannot be taken for anything else it signs. */
export const DECISION_LABEL = "covenant hub decision v1";

/**
 * A decision given on the hub, as a host applies it: who gave it, why, when, and what it names.
 * `ack`: the host's deficiency (its id and promise key); `waiver`: the control, and the dates
 * (YYYY-MM-DD, the calendar's zone) it holds from and until; `integrity-approval`: the promise,
 * and the change record whose observed state it approves.
 */
export interface HubDecision {
  id: string;
  host: string;
  kind: "ack" | "waiver" | "integrity-approval";
  control: string;
  by: string;
  reason: string;
  at: string;
  deficiency?: string;
  key?: string;
  from?: string;
  until?: string;
  /** integrity: the change record that reported the state approved, and its findings' digest */
  record?: number;
  state?: string;
}

/** A decision as it travels: its JSON text exactly as signed, and the hub's Ed25519 signature (base64). */
export interface SignedDecision {
  text: string;
  signature: string;
}

/** The bytes the hub signs for a decision: the label, the host it is for, and the decision's text. */
export function decisionStatement(host: string, text: string): Buffer {
  return Buffer.from(`${DECISION_LABEL}\n${host}\n${text}`, "utf8");
}

/**
 * The observed state an integrity approval approves, as both sides compute it from the change
 * record that reported it: sha256 over each finding's path, kinds of change and changes in words
 * (what the record says changed, digests of a `nodiff` file withheld), in the record's order.
 */
export function integrityStateOf(findings: unknown): string | undefined {
  if (!Array.isArray(findings) || findings.length === 0) return undefined;
  const parts: unknown[] = [];
  for (const f of findings as Record<string, unknown>[]) {
    if (typeof f !== "object" || f === null || typeof f["path"] !== "string") return undefined;
    parts.push([f["path"], f["kinds"] ?? [], f["changes"] ?? []]);
  }
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/** A decision signed with the hub's key. */
export function signDecision(d: HubDecision, privateKey: KeyObject): SignedDecision {
  const text = JSON.stringify(d);
  return { text, signature: sign(null, decisionStatement(d.host, text), privateKey).toString("base64") };
}

/** Why the hub refused a push, and what it holds, so the host can send from there (409). */
export interface PushRefused {
  status: "refused";
  reason: "fork" | "rollback" | "gap" | "chain";
  message: string;
  holds: HubPosition | null;
  /** the first record that does not agree with what the hub holds */
  seq?: number;
}

/** Enrolment: a host registers its public key with a one-time token. */
export interface EnrollBody {
  protocol: typeof PROTOCOL;
  version: typeof PROTOCOL_VERSION;
  kind: "enroll";
  token: string;
  name: string;
  /** the raw 32-byte Ed25519 public key, base64 */
  publicKey: string;
  sentAt: string;
}

export interface EnrollAccepted {
  status: "enrolled";
  host: string;
  name: string;
  fingerprint: string;
  /** the hub's own Ed25519 public key (raw, base64) and its fingerprint: what signs the policy versions the host fetches */
  hubKey?: { publicKey: string; fingerprint: string };
}

/** The bytes a host signs and sends: canonical JSON of the body (keys in the order written). */
export function encodeBody(body: PushBody | EnrollBody): Buffer {
  return Buffer.from(JSON.stringify(body), "utf8");
}

/** The signature header's value for a body's bytes. */
export function signBody(bytes: Buffer, privateKey: KeyObject): string {
  return `ed25519=${sign(null, bytes, privateKey).toString("base64")}`;
}

/** Whether a signature header's value is a valid Ed25519 signature of the bytes by the key. */
export function signatureHolds(bytes: Buffer, header: string | undefined, publicKey: KeyObject): boolean {
  if (header === undefined || !header.startsWith("ed25519=")) return false;
  const sig = Buffer.from(header.slice("ed25519=".length), "base64");
  if (sig.length !== 64) return false;
  try {
    return verify(null, bytes, publicKey, sig);
  } catch {
    return false;
  }
}

/** The chain value after the lines, from a starting value. */
export function chainOver(start: Buffer, lines: readonly string[]): Buffer {
  let c = start;
  for (const line of lines) c = hubChainNext(c, line);
  return c;
}

/** 64 lowercase hex digits: a sha256 (a chain value, a MAC, a content key), as the protocol writes it. */
export const HEX64 = /^[0-9a-f]{64}$/;
const HOST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether a text is a host id as the hub makes them (a UUID). */
export function isHostId(text: unknown): text is string {
  return typeof text === "string" && HOST_ID.test(text);
}

/** The problem with a push body's shape, or undefined: what the hub says before looking at any record. */
export function pushShapeProblem(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "the body is not a JSON object";
  const b = v as Record<string, unknown>;
  if (b["protocol"] !== PROTOCOL || b["version"] !== PROTOCOL_VERSION || b["kind"] !== "push") return `not a ${PROTOCOL} v${PROTOCOL_VERSION} push`;
  if (!isHostId(b["host"])) return "host is not a host id";
  if (typeof b["sentAt"] !== "string" || Number.isNaN(Date.parse(b["sentAt"]))) return "sentAt is not a time";
  if (typeof b["key"] !== "string") return "key is not a fingerprint";
  const after = b["after"] as Record<string, unknown> | null;
  if (typeof after !== "object" || after === null || !Number.isSafeInteger(after["seq"]) || (after["seq"] as number) < 0 || typeof after["chain"] !== "string" || !HEX64.test(after["chain"])) {
    return "after must be { seq: a whole number >= 0, chain: 64 hex digits }";
  }
  const records = b["records"];
  if (!Array.isArray(records) || records.length > MAX_PUSH_RECORDS) return `records must be a list of at most ${MAX_PUSH_RECORDS}`;
  for (let i = 0; i < records.length; i++) {
    const r: unknown = records[i];
    if (typeof r !== "string" || r.length > MAX_LINE_BYTES) return `record ${i} is not a line of at most ${MAX_LINE_BYTES} bytes`;
  }
  if (typeof b["chain"] !== "string" || !HEX64.test(b["chain"])) return "chain is not 64 hex digits";
  const head = b["head"] as Record<string, unknown> | null;
  if (head !== null && (typeof head !== "object" || !Number.isSafeInteger(head["seq"]) || typeof head["mac"] !== "string")) return "head must be null or { seq, mac }";
  if (b["prunedTo"] !== undefined && (!Number.isSafeInteger(b["prunedTo"]) || (b["prunedTo"] as number) < 1)) return "prunedTo must be a record number";
  if (b["deficiencyKey"] !== undefined && (typeof b["deficiencyKey"] !== "string" || !/^[0-9a-f]{16}$/.test(b["deficiencyKey"]))) return "deficiencyKey must be 16 hex digits";
  const ahead = b["rotations"];
  if (ahead !== undefined && (!Array.isArray(ahead) || ahead.length > MAX_ROTATIONS_AHEAD || !ahead.every((l) => typeof l === "string" && l.length <= MAX_LINE_BYTES))) return `rotations must be a list of at most ${MAX_ROTATIONS_AHEAD} lines`;
  return undefined;
}

/** One pushed record's line, read enough for the hub: its number, kind, run and host time. */
export interface PushedRecord {
  seq: number;
  kind: string;
  run: number;
  time: string;
  line: string;
}

/** Reads a pushed line, or says what is wrong with it. */
export function readPushedLine(line: string): PushedRecord | { problem: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { problem: "is not JSON" };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { problem: "is not a JSON object" };
  const r = v as Record<string, unknown>;
  const seq = r["seq"];
  const run = r["run"];
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) return { problem: "has no record number" };
  if (!Number.isSafeInteger(run) || (run as number) < 0) return { problem: "has no run number" };
  if (typeof r["kind"] !== "string" || !/^[a-z]{1,20}$/.test(r["kind"])) return { problem: "has no kind" };
  if (typeof r["time"] !== "string" || Number.isNaN(Date.parse(r["time"]))) return { problem: "has no time" };
  if (typeof r["mac"] !== "string" || !HEX64.test(r["mac"])) return { problem: "has no MAC" };
  return { seq: seq as number, kind: r["kind"], run: run as number, time: r["time"], line };
}
