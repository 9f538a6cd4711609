// Property tests of the hub's judgement of a push (src/hub/server/judge.ts), with no database: a
// host that only ever re-sends or continues its one history is never refused as tampering, and
// any record changed, left out or cut off after the hub held it is.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hubChainNext, hubChainStart } from "../../src/hub/protocol.js";
import { judgePush, type Chained, type Held } from "../../src/hub/server/judge.js";

const HOST = "00000000-0000-4000-8000-000000000001";
/** When the host signed the last push the hub took; a push signed after it is the host speaking now. */
const LAST_SENT = Date.parse("2026-12-06T10:00:00Z");
const NOW = LAST_SENT + 60_000;

function history(n: number, edit?: { at: number; note: string }): Chained[] {
  let c = hubChainStart(HOST);
  const out: Chained[] = [];
  for (let seq = 1; seq <= n; seq++) {
    const line = JSON.stringify({ seq, note: edit && edit.at === seq ? edit.note : "" });
    c = hubChainNext(c, line);
    out.push({ seq, kind: "run", run: seq, time: "2026-12-06T00:00:00Z", line, chain: c });
  }
  return out;
}

/** The hub after taking records 1..k of `h`, and its overlap for a push after `after`. */
function hubAfter(h: Chained[], k: number): { held: Held; overlap: (after: number) => Map<number, Buffer> } {
  const held: Held = { lastSeq: k, lastChain: k ? h[k - 1]!.chain : hubChainStart(HOST), start: hubChainStart(HOST), pruneCut: null, lastSentAt: LAST_SENT };
  return { held, overlap: (after) => new Map(h.slice(Math.max(0, after - 1), k).map((r) => [r.seq, r.chain])) };
}

function push(h: Chained[], from: number, to: number, head: number, sentAt = NOW) {
  return { after: { seq: from, chain: from ? h[from - 1]!.chain : hubChainStart(HOST) }, records: h.slice(from, to), head: { seq: head }, sentAt };
}

describe("judgePush", () => {
  it("takes any re-sent or continuing slice of one history, storing exactly what is new", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.nat(), fc.nat(), fc.nat(), (n, a, b, c) => {
        const h = history(n);
        const held = a % (n + 1);
        const from = b % (held + 1);
        const to = from + (c % (n - from + 1));
        const hub = hubAfter(h, held);
        const v = judgePush(hub.held, push(h, from, to, n), hub.overlap(from));
        expect(v.kind).toBe("store");
        if (v.kind === "store") {
          expect(v.stored).toBe(Math.max(0, to - held));
          expect(v.last.seq).toBe(Math.max(held, to));
        }
      }),
    );
  });

  it("refuses as a fork any push whose records differ from ones the hub holds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 60 }), fc.nat(), fc.nat(), (n, a, b) => {
        const h = history(n);
        const held = 1 + (a % n);
        const at = 1 + (b % held); // a record the hub holds
        const edited = history(n, { at, note: "edited" });
        const hub = hubAfter(h, held);
        const from = at - 1; // the push re-sends from just before the edit
        const v = judgePush(hub.held, push(edited, from, n, n), hub.overlap(from));
        expect(v).toMatchObject({ kind: "refuse", reason: "fork", seq: at });
        // and from after the edit, the chain before the push differs
        if (at < held) expect(judgePush(hub.held, push(edited, held, n, n), hub.overlap(held))).toMatchObject({ kind: "refuse", reason: "fork" });
      }),
    );
  });

  it("refuses as a rollback a host whose head is below what the hub holds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 60 }), fc.nat(), (n, a) => {
        const h = history(n);
        const head = a % n; // below n
        const hub = hubAfter(h, n);
        const from = Math.min(head, n);
        const v = judgePush(hub.held, push(h, from, head, head), hub.overlap(from));
        expect(v).toMatchObject({ kind: "refuse", reason: "rollback", incident: true });
      }),
    );
  });

  it("takes as stale, not a rollback, any older copy of what the hub holds signed no later than the push it took last", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 60 }), fc.nat(), fc.nat(), fc.nat(), fc.nat({ max: 86_400_000 }), (n, a, b, c, earlier) => {
        const h = history(n);
        const head = a % n; // the host's head when it signed the copy: below what the hub holds since
        const from = b % (head + 1);
        const to = from + (c % (head - from + 1));
        const hub = hubAfter(h, n);
        const v = judgePush(hub.held, push(h, from, to, head, LAST_SENT - earlier), hub.overlap(from));
        expect(v.kind).toBe("stale");
        // the same copy signed after that push is the host saying now that its history ends there
        expect(judgePush(hub.held, push(h, from, to, head, LAST_SENT + 1), hub.overlap(from))).toMatchObject({ kind: "refuse", reason: "rollback", incident: true });
      }),
    );
  });

  it("reports a rollback, however old the push says it is, when it disagrees with what the hub holds or follows its own head", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 60 }), fc.nat(), fc.nat(), (n, a, b) => {
        const head = 2 + (a % (n - 2)); // 2..n-1
        const at = 1 + (b % head); // a record at or below the head, edited after the hub took it
        const edited = history(n, { at, note: "restored from another copy" });
        const hub = hubAfter(history(n), n);
        const old = LAST_SENT - 3_600_000;
        expect(judgePush(hub.held, push(edited, at - 1, head, head, old), hub.overlap(at - 1))).toMatchObject({ kind: "refuse", reason: "rollback", incident: true });
        // a position past its own head: the store was cut short under it, never a copy of an honest push
        const h = history(n);
        const past = { ...push(h, head, head, head - 1, old) };
        expect(judgePush(hub.held, past, hub.overlap(head))).toMatchObject({ kind: "refuse", reason: "rollback" });
      }),
    );
  });

  it("judges nothing stale for a host whose last push's time the hub does not know", () => {
    const h = history(10);
    const hub = hubAfter(h, 10);
    const v = judgePush({ ...hub.held, lastSentAt: null }, push(h, 0, 4, 4, LAST_SENT - 60_000), hub.overlap(0));
    expect(v).toMatchObject({ kind: "refuse", reason: "rollback", detail: { hostHead: 4, hubHolds: 10, lastSentAt: null, agrees: true } });
  });

  it("refuses as a gap records that do not follow on, and leaving out a held record as a fork", () => {
    const h = history(10);
    const hub = hubAfter(h, 5);
    const skipping = { ...push(h, 5, 10, 10), records: [h[5]!, h[7]!] };
    expect(judgePush(hub.held, skipping, hub.overlap(5))).toMatchObject({ kind: "refuse", reason: "gap", seq: 7, incident: true });
    const leavingOut = { ...push(h, 2, 10, 10), records: [h[2]!, h[4]!, h[5]!] };
    expect(judgePush(hub.held, leavingOut, hub.overlap(2))).toMatchObject({ kind: "refuse", reason: "fork", seq: 4 });
  });

  it("names a re-sent record the hub never held as new, not as one the hub holds", () => {
    // a pruned store: the hub holds 3 and 9 below the cut at 10, then 11 to 12
    const h = history(12);
    const held: Held = { lastSeq: 12, lastChain: h[11]!.chain, start: hubChainStart(HOST), pruneCut: 10, lastSentAt: LAST_SENT };
    // sent again from the start with a record 8 the hub never took: push.ts reads the overlap up to
    // the push's last record, so the hub's only record there is 3
    const overlap = new Map([[3, h[2]!.chain]]);
    const v = judgePush(held, { after: { seq: 0, chain: hubChainStart(HOST) }, records: [h[2]!, h[7]!], head: { seq: 12 }, sentAt: NOW }, overlap);
    expect(v).toMatchObject({ kind: "refuse", reason: "fork", seq: 8, message: "the host's history forks at record 8: record 8 was not in what the host sent before" });
  });
});
