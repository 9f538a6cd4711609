// Sends the hub the records it has not acknowledged yet, in order, in batches (protocol.ts
// MAX_PUSH_RECORDS / MAX_PUSH_BYTES), each body signed with the host's Ed25519 key. The ledger is
// the queue: a hub that cannot be reached leaves the stored position where it was, and the next
// push sends from there; nothing is lost. What the hub acknowledges (`holds`) becomes the position
// only when it is exactly what was sent. A hub that says it holds less than the host believed (it
// was restored from a backup) is believed only when its chain value is the host's own at that
// record; then the host sends again from there. A fork or a rollback the hub reports, or a
// position the host cannot match, stops the push and is said: it needs a person.
import type { SigningKey, StateStore } from "../../store/store.js";
import { rawPublicKey } from "../../store/signing-key.js";
import { extractLine } from "../../evidence/manifest.js";
import { encodeBody, HOST_HEADER, hubChainStart, KEY_HEADER, MAX_ROTATIONS_AHEAD, PROTOCOL, PROTOCOL_VERSION, SIGNATURE_HEADER, signBody, type ChainPoint, type PushBody, type SignedDecision } from "../protocol.js";
import { chainBetween, chainThrough, readBatch, type Batch } from "./batch.js";
import { HUB_CA_FILE, type Enrolment } from "./enrolment.js";
import { HubConnection, type Exchange } from "./http.js";
import { acceptedOf, hubSays, refusedOf } from "./answers.js";

export interface PushOptions {
  /** stop by then (ms since the epoch): what is not sent waits for the next push */
  deadline?: number;
  /** limits of one push (tests send small batches); at most the protocol's */
  maxRecords?: number;
  maxBytes?: number;
  now?: () => Date;
}

export type PushOutcome = {
  /** records the hub took in this push (new to it) */
  sent: number;
  /** records sent in all (the hub may have held some already) */
  pushed: number;
  batches: number;
  /** what the hub holds of this host, as last acknowledged */
  holds: ChainPoint | undefined;
  /** the host's newest record */
  head: number;
  /** the host's clock minus the hub's, as the hub measured it at the last push */
  clockSkewMs?: number;
  /** the hub said it held less than the host believed, and the host sent again from there */
  resent?: { from: number; was: number };
  /** decisions given on the hub that the replies carried, not yet checked (decisions.ts applyDecisions checks and applies them) */
  decisions?: SignedDecision[];
} & (
  | { status: "caught-up" }
  /** no answer, or a 5xx: the records wait */
  | { status: "unreachable"; waiting: number; why: string; untrusted?: true }
  /** the hub refused, or answered something the host cannot accept: `reason` and `message` are the hub's words where it gave them (escape before printing) */
  | { status: "refused"; waiting: number; httpStatus?: number; reason: string; message: string }
  /** the host's own store stops the push (a record that fails its check) */
  | { status: "blocked"; waiting: number; why: string }
);

/** How many times one push believes a lower position from the hub: a hub that keeps moving it back is refused. */
const MAX_RESYNCS = 2;

interface Progress {
  sent: number;
  pushed: number;
  batches: number;
  resent?: { from: number; was: number };
  clockSkewMs?: number;
  decisions?: SignedDecision[];
}

/** Pushes until the hub holds the host's head, or something stops it. */
export async function pushToHub(store: StateStore, enrolment: Enrolment, ca: string, key: SigningKey, opts: PushOptions = {}): Promise<PushOutcome> {
  const hub = new HubConnection(enrolment.url, ca, HUB_CA_FILE);
  try {
    return await pushLoop(store, enrolment, hub, key, opts);
  } finally {
    hub.close();
  }
}

async function pushLoop(store: StateStore, e: Enrolment, hub: HubConnection, key: SigningKey, opts: PushOptions): Promise<PushOutcome> {
  const now = opts.now ?? (() => new Date());
  const start: ChainPoint = { seq: 0, chain: hubChainStart(e.host).toString("hex") };
  const stored = store.hubPosition(e.host);
  let position: ChainPoint = stored ? { seq: stored.seq, chain: stored.chain } : start;
  let known = stored !== undefined;
  const progress: Progress = { sent: 0, pushed: 0, batches: 0 };
  let resyncs = 0;
  let maxRecords = opts.maxRecords;
  for (;;) {
    const batch = readBatch(store, position, { ...(maxRecords !== undefined ? { maxRecords } : {}), ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}) });
    const head = batch.head?.seq ?? 0;
    const base = () => ({ ...progress, holds: known ? position : undefined, head });
    const waiting = Math.max(0, head - position.seq);
    // (a stored position past the host's own head is a store cut short under it: the push still goes, and the hub reports the rollback)
    if (batch.records.length === 0 && batch.problem !== undefined) return { ...base(), status: "blocked", waiting, why: batch.problem };
    if (opts.deadline !== undefined && Date.now() >= opts.deadline) return { ...base(), status: "unreachable", waiting, why: "the time allowed for the push ran out" };
    const body = bodyOf(e, key, position, batch, now(), store.deficiencyKeyId, rotationsAhead(store, batch, head));
    const bytes = encodeBody(body);
    const answer = await hub.post("/v1/push", bytes, { [HOST_HEADER]: e.host, [SIGNATURE_HEADER]: signBody(bytes, key.privateKey), [KEY_HEADER]: rawPublicKey(key.publicKey).toString("base64") }, opts.deadline);
    const judged = judge(answer, body, batch);
    if (judged.kind === "stop") return { ...base(), ...judged.outcome(waiting) } as PushOutcome;
    if (judged.kind === "smaller") {
      // 413: the hub takes smaller bodies than the protocol says; halve down to one record
      if (batch.records.length <= 1) return { ...base(), status: "refused", waiting, httpStatus: 413, reason: "too large", message: `the hub refused a push of one record (${batch.seqs[0] ?? position.seq + 1}) as too large` };
      maxRecords = Math.max(1, Math.floor(batch.records.length / 2));
      continue;
    }
    if (judged.kind === "accepted") {
      const mine = judged.ahead ? chainBetween(store, judged.ahead, judged.holds.seq) : undefined;
      if (mine && !("chain" in mine && mine.chain === judged.holds.chain)) {
        const why = "chain" in mine ? `its chain value at record ${judged.holds.seq} is not this host's` : mine.cannot;
        return { ...base(), status: "refused", waiting, httpStatus: 200, reason: "answer", message: `the hub says it holds records up to ${judged.holds.seq}, past the push's last record (${judged.ahead!.seq}), and the host cannot vouch for it: ${why}` };
      }
      progress.batches++;
      progress.pushed += batch.records.length;
      progress.sent += judged.stored;
      progress.clockSkewMs = judged.clockSkewMs;
      // each reply carries every decision still unanswered: the last one's are the newest list
      if (judged.decisions) progress.decisions = judged.decisions;
      store.setHubPosition(e.host, judged.holds);
      position = judged.holds;
      known = true;
      // the last batch reached the head as it was read: caught up (records written since wait for the next push)
      if (batch.records.length === 0 || position.seq >= head) {
        if (batch.problem !== undefined) return { ...base(), status: "blocked", waiting: 0, why: batch.problem };
        return { ...base(), status: "caught-up" };
      }
      if (batch.problem !== undefined) return { ...base(), status: "blocked", waiting: Math.max(0, head - position.seq), why: batch.problem };
      continue;
    }
    // the hub holds less than (or other than) the host believed: believed only when the host's own chain agrees
    const back = judged.holds ?? start;
    const mine = back.seq <= head ? chainThrough(store, e.host, back.seq) : { cannot: `the hub holds records up to ${back.seq}, past this store's last record (${head})` };
    if (!("chain" in mine) || mine.chain !== back.chain || ++resyncs > MAX_RESYNCS) {
      const why = "chain" in mine ? (mine.chain !== back.chain ? `its chain value at record ${back.seq} is not this host's` : "it moved the position back again and again") : mine.cannot;
      return { ...base(), status: "refused", waiting, httpStatus: 409, reason: judged.reason, message: `${judged.message} (the hub holds records up to ${back.seq}; the host cannot resend from there: ${why})` };
    }
    progress.resent = { from: back.seq, was: position.seq };
    store.setHubPosition(e.host, back, { back: true });
    position = back;
    known = true;
  }
}

/**
 * The rotation records past the batch, when it stops short of the head: the key that signs the
 * batch may be one only a later rotation puts in force, and the hub must be shown that rotation
 * (protocol.ts PushBody.rotations). None when the batch reaches the head.
 */
function rotationsAhead(store: StateStore, batch: Batch, head: number): string[] {
  const last = batch.seqs.at(-1);
  if (last === undefined || last >= head) return [];
  return store.rotationsAfter(last).slice(0, MAX_ROTATIONS_AHEAD).map((r) => extractLine(r));
}

function bodyOf(e: Enrolment, key: SigningKey, after: ChainPoint, batch: Batch, at: Date, deficiencyKey: string, rotations: string[]): PushBody {
  return {
    protocol: PROTOCOL,
    version: PROTOCOL_VERSION,
    kind: "push",
    host: e.host,
    sentAt: at.toISOString(),
    key: key.fingerprint,
    after,
    records: batch.records,
    chain: batch.chains.at(-1) ?? after.chain,
    head: batch.head,
    ...(batch.prunedTo !== undefined ? { prunedTo: batch.prunedTo } : {}),
    deficiencyKey,
    ...(rotations.length ? { rotations } : {}),
  };
}

type Judged =
  | { kind: "accepted"; holds: ChainPoint; stored: number; clockSkewMs: number; ahead?: ChainPoint; decisions?: SignedDecision[] }
  | { kind: "resync"; holds: ChainPoint | null; reason: string; message: string }
  | { kind: "smaller" }
  | { kind: "stop"; outcome: (waiting: number) => Omit<PushOutcome, keyof Progress | "holds" | "head"> };

/** What one answer means for the push. */
function judge(answer: Exchange, body: PushBody, batch: Batch): Judged {
  if (answer.kind === "none") return { kind: "stop", outcome: (waiting) => ({ status: "unreachable", waiting, why: answer.why, ...(answer.untrusted ? { untrusted: true as const } : {}) }) };
  const { status } = answer;
  if (status >= 500) return { kind: "stop", outcome: (waiting) => ({ status: "unreachable", waiting, why: `HTTP ${status}${hubSays(answer) ? `: ${hubSays(answer)}` : ""}` }) };
  if (status === 413) return { kind: "smaller" };
  const refused = (reason: string, message: string) => ({ kind: "stop" as const, outcome: (waiting: number) => ({ status: "refused" as const, waiting, httpStatus: status, reason, message }) });
  if (status === 200) {
    const ok = acceptedOf(answer.body);
    if (!ok) return refused("answer", `the hub's answer is not a protocol v1 acceptance: ${answer.text.slice(0, 200)}`);
    const sentTo = batch.seqs.at(-1) ?? body.after.seq;
    const decisions = ok.decisions ? { decisions: ok.decisions } : {};
    if (ok.holds.seq === sentTo && ok.holds.chain === body.chain) return { kind: "accepted", holds: ok.holds, stored: ok.stored, clockSkewMs: ok.clockSkewMs, ...decisions };
    // more than was sent: another push of this host (the watcher's, a run's) went first; believed when the host's own chain agrees
    if (ok.holds.seq > sentTo) return { kind: "accepted", holds: ok.holds, stored: ok.stored, clockSkewMs: ok.clockSkewMs, ahead: { seq: sentTo, chain: body.chain }, ...decisions };
    return refused("answer", `the hub says it holds records up to ${ok.holds.seq} (chain ${ok.holds.chain.slice(0, 12)}…) after a push that ends at record ${sentTo} (chain ${body.chain.slice(0, 12)}…): the position is not moved`);
  }
  if (status === 409) {
    const no = refusedOf(answer.body);
    if (!no) return refused("answer", `the hub refused the push (HTTP 409) with an answer that is not protocol v1: ${answer.text.slice(0, 200)}`);
    // a fork or a rollback is the hub's finding about this host's history: never sent past
    if (no.reason === "fork" || no.reason === "rollback") return refused(no.reason, no.message);
    // the hub's position is not the host's: it holds less (restored from a backup) or the host's record of it is stale
    if (no.holds === null || no.holds.seq !== body.after.seq || no.holds.chain !== body.after.chain) return { kind: "resync", holds: no.holds, reason: no.reason, message: no.message };
    return refused(no.reason, no.message);
  }
  const what = status === 401 ? "the hub does not know this host (revoked, or enrolled elsewhere), or did not accept its signature" : status === 403 ? "the hub refuses this host (revoked, or its key is not the one enrolled)" : status === 400 ? "the hub found the push malformed" : `the hub answered HTTP ${status}`;
  return refused(status === 401 || status === 403 ? "not allowed" : status === 400 ? "malformed" : "unexpected", `${what}${hubSays(answer) ? `: ${hubSays(answer)}` : ""}`);
}
