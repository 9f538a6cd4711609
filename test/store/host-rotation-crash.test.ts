// A rotation of the host key stopped at each of its steps (host-rotation.ts): before its record the
// waiting key is never used; after it, readers read it as it stands and the next write-open
// finishes it. And prune across a rotation: before it, after it, and cutting past its record.
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hostKeyId } from "../../src/store/deficiencies.ts";
import { sealHead } from "../../src/store/ledger.ts";
import { SCHEMA_VERSION, StateStore } from "../../src/store/store.ts";
import { keyOf, populated, raw, removeTempDirs, verified } from "./helpers.ts";
import { retiredKey, rotate, runOnce, who, withReader } from "./host-rotation-helpers.ts";

afterAll(() => removeTempDirs());

describe("a rotation stopped part way", () => {
  /** A store rotated once, with what each stop point needs put back: the old key, the old ledger.head. */
  function rotatedWithSaved(): { dir: string; record: number; oldKey: Buffer; newKey: Buffer; oldHead: string } {
    const { dir, store } = populated(2);
    store.close();
    const oldKey = keyOf(dir);
    const oldHead = readFileSync(join(dir, "ledger.head"), "utf8");
    const { record } = rotate(dir);
    return { dir, record, oldKey, newKey: keyOf(dir), oldHead };
  }

  /** As if stopped before the rename: the new key waits in host.key.next, the old is in host.key. */
  function unrename(s: { dir: string; oldKey: Buffer }): void {
    renameSync(join(s.dir, "host.key"), join(s.dir, "host.key.next"));
    writeFileSync(join(s.dir, "host.key"), s.oldKey.toString("hex") + "\n", { mode: 0o600 });
  }

  function expectFinished(s: { dir: string; record: number; oldKey: Buffer; newKey: Buffer }): void {
    // a reader reads it as it stands, changing nothing
    expect(verified(s.dir)).toBeUndefined();
    expect(withReader(s.dir, (r) => r.readHistory().entries.every((e) => e.verified))).toBe(true);
    // opening for writing finishes it
    StateStore.open(s.dir).close();
    expect(keyOf(s.dir).equals(s.newKey)).toBe(true);
    expect(existsSync(join(s.dir, "host.key.next"))).toBe(false);
    expect(retiredKey(s.dir, s.record).equals(s.oldKey)).toBe(true);
    expect(readFileSync(join(s.dir, "host.key.retired"), "utf8").trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(s.dir, "ledger.head"), "utf8"))).toEqual(sealHead(s.newKey, JSON.parse(readFileSync(join(s.dir, "ledger.head"), "utf8")).seq, Buffer.from(JSON.parse(readFileSync(join(s.dir, "ledger.head"), "utf8")).mac, "hex"), { schema: SCHEMA_VERSION, run: JSON.parse(readFileSync(join(s.dir, "ledger.head"), "utf8")).run }));
    runOnce(s.dir, "C-1/file:a");
    expect(verified(s.dir)).toBeUndefined();
  }

  it("before its record: host.key.next is never used, and the next rotation replaces it", () => {
    const { dir, store } = populated(2);
    store.close();
    const key = keyOf(dir);
    const planted = randomBytes(32);
    writeFileSync(join(dir, "host.key.next"), planted.toString("hex") + "\n", { mode: 0o600 });
    runOnce(dir);
    expect(keyOf(dir).equals(key)).toBe(true);
    expect(verified(dir)).toBeUndefined();
    const done = rotate(dir);
    expect(done.new).not.toBe(hostKeyId(planted));
    expect(existsSync(join(dir, "host.key.next"))).toBe(false);
    expect(verified(dir)).toBeUndefined();
  });

  it("after its record, before ledger.head: the head sealed with the old key is accepted until it is finished", () => {
    const s = rotatedWithSaved();
    unrename(s);
    rmSync(join(s.dir, "host.key.retired"));
    writeFileSync(join(s.dir, "ledger.head"), s.oldHead);
    expectFinished(s);
  });

  it("after ledger.head, before host.key.retired", () => {
    const s = rotatedWithSaved();
    unrename(s);
    rmSync(join(s.dir, "host.key.retired"));
    expectFinished(s);
  });

  it("after host.key.retired, before the rename", () => {
    const s = rotatedWithSaved();
    unrename(s);
    expectFinished(s);
  });

  it("`key rotate --host` on a rotation stopped after its record finishes it and rotates no further", () => {
    const s = rotatedWithSaved();
    unrename(s);
    const again = StateStore.open(s.dir);
    let done;
    try {
      done = again.rotateHostKey(who("again"));
    } finally {
      again.close();
    }
    expect(done).toEqual({ finished: true, record: s.record, old: hostKeyId(s.oldKey), new: hostKeyId(s.newKey) });
    expect(keyOf(s.dir).equals(s.newKey)).toBe(true);
    expect(raw(s.dir).prepare("SELECT count(*) FROM ledger WHERE kind = 'rotation'").pluck().get()).toBe(1);
    expect(verified(s.dir)).toBeUndefined();
  });

  it("stopped after its record with host.key replaced outside Covenant: verify says so, and nothing is filed as retired or renamed", () => {
    const s = rotatedWithSaved();
    unrename(s);
    rmSync(join(s.dir, "host.key.retired"));
    writeFileSync(join(s.dir, "host.key"), randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
    expect(verified(s.dir)?.message).toMatch(new RegExp(`not in host.key.retired|the host key is not the one the rotation in record ${s.record} put in force`));
    expect(() => StateStore.open(s.dir)).toThrow();
    expect(existsSync(join(s.dir, "host.key.retired"))).toBe(false);
    expect(existsSync(join(s.dir, "host.key.next"))).toBe(true);
  });

  it("a finished rotation's ledger.head put back sealed with the old key is refused", () => {
    const s = rotatedWithSaved();
    copyFileSync(join(s.dir, "ledger.head"), join(s.dir, "head.bak"));
    writeFileSync(join(s.dir, "ledger.head"), s.oldHead);
    expect(verified(s.dir)?.message).toMatch(/ledger.head was rewritten/);
  });
});

describe("prune across a rotation", () => {
  const pack = (first: number, last: number) => ({ manifestSha256: "ab".repeat(32), fingerprint: "SHA256:test", firstRecord: first, lastRecord: last, from: "2026-11-01", to: "2026-11-24" });
  const lastSeq = (dir: string) => raw(dir).prepare("SELECT max(seq) FROM ledger").pluck().get() as number;

  it("a prune of records MAC'd with the retired key, after the rotation: what remains verifies, and runs continue", () => {
    const { dir, store } = populated(4);
    store.close();
    const { record } = rotate(dir);
    runOnce(dir, "C-1/file:a");
    const s = StateStore.open(dir);
    try {
      const out = s.prune({ before: new Date("2026-11-23T10:03:30.000Z"), evidence: pack(1, lastSeq(dir)) });
      expect(out.cut.run).toBe(3);
      expect(out.cut.seq).toBeLessThan(record);
      expect(s.verify().tampering).toBeUndefined();
    } finally {
      s.close();
    }
    runOnce(dir);
    expect(verified(dir)).toBeUndefined();
    expect(withReader(dir, (r) => r.readHistory().entries.every((e) => e.verified))).toBe(true);
    const scanned: boolean[] = [];
    withReader(dir, (r) => r.scanHistory({}, (x) => scanned.push(x.verified)));
    expect(scanned.every(Boolean)).toBe(true);
  });

  it("a rotation after a prune: the checkpoint sealed with the retired key still vouches for the cut", () => {
    const { dir, store } = populated(4);
    const out = store.prune({ before: new Date("2026-11-23T10:02:30.000Z"), evidence: pack(1, lastSeq(dir)) });
    store.close();
    expect(out.record).toBeDefined();
    const { record } = rotate(dir);
    runOnce(dir, "C-2/load:");
    const report = withReader(dir, (r) => r.verify());
    expect(report.tampering).toBeUndefined();
    expect(report.checkpoint).toMatchObject({ seq: out.cut.seq });
    // a prune after the rotation too, cutting past the rotation record
    const s = StateStore.open(dir);
    try {
      const again = s.prune({ before: new Date("2026-11-24T10:30:00.000Z"), evidence: pack(1, lastSeq(dir)) });
      expect(again.record).toBeDefined();
      // the rotation record went with the runs around it (it is in the pack): the schedule still names it
      expect(again.cut.seq).toBeGreaterThan(record);
      expect(raw(dir).prepare("SELECT count(*) FROM ledger WHERE seq = ?").pluck().get(record)).toBe(0);
      expect(s.verify().tampering).toBeUndefined();
    } finally {
      s.close();
    }
    runOnce(dir);
    expect(verified(dir)).toBeUndefined();
  });
});
