// Rotating the host key (host-rotation.ts, host-keys.ts): history is not rewritten, records after
// the rotation are MAC'd with the new key, verify walks the chain with the schedule; a rotation
// stopped at each of its steps is finished or never used; tampering that only the old key (or both
// keys) could do is found; deficiency ids and keyed digests made before a rotation still hold.
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { deficiencyId, hostKeyId } from "../../src/store/deficiencies.ts";
import { GENESIS, macOf, sealHead, type LedgerRow } from "../../src/store/ledger.ts";
import { SCHEMA_VERSION, StateStore } from "../../src/store/store.ts";
import { keyOf, populated, raw, removeTempDirs, result, runBody, secretsDir, tempDir, verified } from "./helpers.ts";
import { rotate, runOnce, withReader } from "./host-rotation-helpers.ts";

afterAll(() => removeTempDirs());

/** Rewrites records as someone holding every key would: each MAC made with the key the schedule says, both anchors moved. */
function rewriteWithKeys(dir: string, keyAt: (seq: number) => Buffer, edit: (row: LedgerRow) => string | undefined): void {
  const db = raw(dir);
  let prev = GENESIS;
  for (const r of db.prepare("SELECT * FROM ledger ORDER BY seq").all() as LedgerRow[]) {
    const body = edit(r) ?? r.body;
    const mac = macOf(keyAt(r.seq), prev, { kind: r.kind, run: r.run, time: r.time, body });
    db.prepare("UPDATE ledger SET body = ?, mac = ? WHERE seq = ?").run(body, mac, r.seq);
    prev = mac;
  }
  const last = db.prepare("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").get() as { seq: number; mac: Buffer };
  const dbHead = JSON.parse(db.prepare("SELECT value FROM meta WHERE key = 'head'").pluck().get() as string) as { bands?: string };
  const current = keyOf(dir);
  db.prepare("UPDATE meta SET value = ? WHERE key = 'head'").run(JSON.stringify(sealHead(current, last.seq, last.mac, { schema: SCHEMA_VERSION, ...(dbHead.bands ? { bands: dbHead.bands } : {}) })));
  const lastRun = Number(db.prepare("SELECT value FROM meta WHERE key = 'last_run'").pluck().get());
  db.close();
  writeFileSync(join(dir, "ledger.head"), JSON.stringify(sealHead(current, last.seq, last.mac, { schema: SCHEMA_VERSION, run: lastRun })) + "\n");
}

describe("rotating the host key", () => {
  it("writes a rotation record MAC'd with the old key, the new key in host.key, the old in host.key.retired; later records verify under the new key", () => {
    const { dir, store } = populated(3);
    const macsBefore = (raw(dir).prepare("SELECT mac FROM ledger ORDER BY seq").pluck().all() as Buffer[]).map((m) => m.toString("hex"));
    store.close();
    const oldKey = keyOf(dir);
    const done = rotate(dir, "INC-7 key in a backup");
    expect(done.old).toBe(hostKeyId(oldKey));
    const newKey = keyOf(dir);
    expect(newKey.equals(oldKey)).toBe(false);
    expect(done.new).toBe(hostKeyId(newKey));
    expect(statSync(join(dir, "host.key.retired")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "host.key.retired"), "utf8")).toBe(`${done.record} ${oldKey.toString("hex")}\n`);
    expect(existsSync(join(dir, "host.key.next"))).toBe(false);
    // history is not rewritten: every MAC written before is the same
    const db = raw(dir);
    const rows = db.prepare("SELECT * FROM ledger ORDER BY seq").all() as LedgerRow[];
    db.close();
    expect(rows.slice(0, macsBefore.length).map((r) => r.mac.toString("hex"))).toEqual(macsBefore);
    const rec = rows.find((r) => r.seq === done.record)!;
    expect(rec.kind).toBe("rotation");
    expect(macOf(oldKey, rows[done.record - 2]!.mac, rec).equals(rec.mac)).toBe(true);
    const body = JSON.parse(rec.body) as { key: string; old: { id: string }; new: { id: string }; reason: string; accepted: string };
    expect(body).toMatchObject({ key: "host", old: { id: done.old }, new: { id: done.new }, reason: "INC-7 key in a backup", by: "Alice Admin" });
    // no key in the record
    expect(rec.body).not.toContain(oldKey.toString("hex"));
    expect(rec.body).not.toContain(newKey.toString("hex"));
    runOnce(dir, "C-1/file:a");
    const after = raw(dir).prepare("SELECT * FROM ledger WHERE seq = ?").get(done.record + 1) as LedgerRow;
    expect(macOf(newKey, rec.mac, after).equals(after.mac)).toBe(true);
    expect(verified(dir)).toBeUndefined();
    const history = withReader(dir, (s) => s.readHistory());
    expect(history.end).toBeUndefined();
    expect(history.entries.every((e) => e.verified)).toBe(true);
    expect(history.entries.some((e) => e.kind === "rotation")).toBe(true);
  });

  it("twice: the schedule holds three keys; verify, history and the scan vouch for every record; the seals are the new key's", () => {
    const { dir, store } = populated(2);
    store.close();
    const first = rotate(dir);
    runOnce(dir, "C-2/load:");
    const second = rotate(dir);
    expect(second.old).toBe(first.new);
    runOnce(dir);
    expect(verified(dir)).toBeUndefined();
    const lines = readFileSync(join(dir, "host.key.retired"), "utf8").trim().split("\n");
    expect(lines.map((l) => Number(l.split(" ")[0]))).toEqual([first.record, second.record]);
    const scanned: { seq: number; verified: boolean }[] = [];
    const end = withReader(dir, (s) => s.scanHistory({}, (r) => scanned.push({ seq: r.seq, verified: r.verified })));
    expect(end.end).toBeUndefined();
    expect(scanned.length).toBeGreaterThan(second.record);
    expect(scanned.every((r) => r.verified)).toBe(true);
    // a scan from past the first rotation starts chained to the record before it
    const part: boolean[] = [];
    withReader(dir, (s) => s.scanHistory({ fromSeq: first.record + 1 }, (r) => part.push(r.verified)));
    expect(part.every(Boolean)).toBe(true);
    expect(withReader(dir, (s) => s.readHistory().entries.every((e) => e.verified))).toBe(true);
  });

  it("keeps deficiency ids: made with the first key's id, before and after", () => {
    const { dir, store } = populated(2);
    const before = store.listDeficiencies({ status: "all" }).map((d) => d.id);
    const firstKey = keyOf(dir);
    store.close();
    expect(before.length).toBeGreaterThan(0);
    rotate(dir);
    runOnce(dir, "C-2/load:");
    const s = StateStore.openReadOnly(dir);
    try {
      const all = s.listDeficiencies({ status: "all" });
      expect(all.map((d) => d.id)).toEqual(expect.arrayContaining(before));
      // the deficiency opened after the rotation has the id the first key makes
      const opened = all.find((d) => d.key === "C-2/load:" && d.status === "open")!;
      expect(opened.openedRecord).toBeGreaterThan(0);
      expect(opened.id).toBe(deficiencyId(hostKeyId(firstKey), "C-2/load:", opened.openedRun, opened.openedRecord));
      expect(s.deficiencyIdOf("C-2/load:", opened.openedRun, opened.openedRecord)).toBe(opened.id);
    } finally {
      s.close();
    }
    expect(verified(dir)).toBeUndefined();
  });

  it("a nodiff digest keyed before the rotation still compares equal after it; new content is keyed with the new key", () => {
    const { dir, store } = populated(1);
    const before = store.keyDigest("aa".repeat(32));
    const line = store.keyLine("password=hunter2");
    const run = store.beginRun();
    store.set("/etc/pin", { algorithm: "sha256", digest: "aa".repeat(32), size: 5, mode: 0o600, uid: 0, gid: 0, mtimeMs: 1, approvedAt: "2026-11-23T11:00:00.000Z", keyed: true });
    store.finishRun(runBody(run, 3));
    store.close();
    const oldKey = keyOf(dir);
    rotate(dir);
    const s = StateStore.open(dir);
    try {
      expect(s.get("/etc/pin")?.digest).toBe(before);
      expect(s.get("/etc/pin")?.tampered).toBeUndefined();
      expect(s.keyDigest("aa".repeat(32))).toBe(before);
      // content never approved is keyed with the key in force, not the retired one
      const fresh = s.keyDigest("bb".repeat(32));
      expect(fresh).toBe("hmac-sha256:" + createHmac("sha256", keyOf(dir)).update(`nodiff digest\n${"bb".repeat(32)}`).digest("hex"));
      expect(fresh).not.toBe("hmac-sha256:" + createHmac("sha256", oldKey).update(`nodiff digest\n${"bb".repeat(32)}`).digest("hex"));
      // a masked line no approved copy keeps is keyed with the new key too
      expect(s.keyLine("password=hunter2")).not.toBe(line);
    } finally {
      s.close();
    }
    expect(verified(dir)).toBeUndefined();
  });

  it("refuses a store that does not verify, and a key kept elsewhere, rotating nothing", () => {
    const { dir, store } = populated(2);
    store.close();
    const db = raw(dir);
    db.prepare("UPDATE ledger SET body = body || ' ' WHERE seq = 2").run();
    db.close();
    const key = keyOf(dir);
    expect(() => rotate(dir)).toThrow(/does not verify .*record 2.*the host key is not rotated/);
    expect(keyOf(dir).equals(key)).toBe(true);
    expect(existsSync(join(dir, "host.key.next"))).toBe(false);
    expect(existsSync(join(dir, "host.key.retired"))).toBe(false);

    const secrets = secretsDir();
    const other = tempDir();
    process.env["COVENANT_HOST_KEY_FILE"] = join(secrets, "host.key");
    try {
      populated(1, other).store.close();
      expect(() => rotate(other)).toThrow(/kept elsewhere \(COVENANT_HOST_KEY_FILE=.*\): Covenant does not replace a key it does not keep/);
    } finally {
      delete process.env["COVENANT_HOST_KEY_FILE"];
    }
  });

  it("a store opened before the rotation (a watcher) writes nothing more with the retired key", () => {
    const { dir, store } = populated(1);
    const beat = { pid: 4242, startTicks: 777, started: "2026-11-24T08:00:00.000Z", lastBeat: "2026-11-24T08:59:00.000Z", policy: "ab".repeat(32), intervalMs: 10_000 };
    store.beat(beat);
    rotate(dir);
    expect(() => store.beat({ ...beat, lastBeat: "2026-11-24T09:01:00.000Z" })).toThrow(/host key was rotated .* after this process opened the store/);
    expect(() => store.beginRun()).toThrow(/host key was rotated .* after this process opened the store/);
    expect(() => store.recordResult(1, "2026-11-24T12:00:00.000Z", result("C-1/file:a", "drift", ["mode is 0666"]))).toThrow(/host key was rotated/);
    store.close();
    expect(verified(dir)).toBeUndefined();
  });
});

describe("tampering across a rotation", () => {
  it("a record after the rotation MAC'd with the old key is found", () => {
    const { dir, store } = populated(1);
    store.close();
    const oldKey = keyOf(dir);
    const { record } = rotate(dir);
    runOnce(dir, "C-1/file:b");
    // someone with the retired key rewrites the record after the rotation
    const db = raw(dir);
    const prev = db.prepare("SELECT mac FROM ledger WHERE seq = ?").pluck().get(record) as Buffer;
    const r = db.prepare("SELECT * FROM ledger WHERE seq = ?").get(record + 1) as LedgerRow;
    const body = r.body.replace("drift", "kept");
    db.prepare("UPDATE ledger SET body = ?, mac = ? WHERE seq = ?").run(body, macOf(oldKey, prev, { ...r, body }), r.seq);
    db.close();
    expect(verified(dir)).toMatchObject({ seq: record + 1 });
    const entry = withReader(dir, (s) => s.readHistory().entries.find((e) => e.seq === record + 1)!);
    expect(entry.verified).toBe(false);
  });

  it("history before the rotation rewritten with the old key is found: the record after the rotation chains it", () => {
    const { dir, store } = populated(2);
    store.close();
    const oldKey = keyOf(dir);
    const { record } = rotate(dir);
    runOnce(dir);
    // the old key's holder re-MACs everything up to the rotation; past it they cannot (their MACs there are any other key's)
    const other = randomBytes(32);
    rewriteWithKeys(dir, (seq) => (seq <= record ? oldKey : other), (r) => (r.seq === 2 ? r.body.replace("kept", "drift") : undefined));
    expect(verified(dir)).toMatchObject({ seq: record + 1 });
  });

  it("a forged rotation record (its acceptance not the new key's) is found even when every MAC is consistent", () => {
    const { dir, store } = populated(1);
    store.close();
    const oldKey = keyOf(dir);
    const { record } = rotate(dir);
    runOnce(dir);
    const newKey = keyOf(dir);
    rewriteWithKeys(dir, (seq) => (seq <= record ? oldKey : newKey), (r) => (r.seq === record ? r.body.replace(/"accepted":"[0-9a-f]+"/, `"accepted":"${"0".repeat(64)}"`) : undefined));
    expect(verified(dir)).toMatchObject({ seq: record, message: expect.stringMatching(/acceptance does not verify/) });
    // and one whose reason was rewritten: the acceptance covers it
    rewriteWithKeys(dir, (seq) => (seq <= record ? oldKey : newKey), (r) => (r.seq === record ? r.body.replace("CHG-9 yearly", "nothing to see") : undefined));
    expect(verified(dir)).toMatchObject({ seq: record, message: expect.stringMatching(/acceptance does not verify/) });
  });

  it("the key schedule deleted from the store is found, naming the rotation", () => {
    const { dir, store } = populated(1);
    store.close();
    const { record } = rotate(dir);
    const db = raw(dir);
    db.prepare("DELETE FROM meta WHERE key = 'host_rotations'").run();
    db.close();
    expect(verified(dir)).toMatchObject({ seq: record, message: expect.stringMatching(/not the one the store's key schedule names/) });
  });

  it("host.key.retired missing or holding another key: a clear verify error, history and runs still work", () => {
    const { dir, store } = populated(2);
    store.close();
    const { record } = rotate(dir);
    renameSync(join(dir, "host.key.retired"), join(dir, "retired.bak"));
    expect(verified(dir)?.message).toBe(`the host key in force up to record ${record} (the one the rotation in record ${record} retired, id ${hostKeyId(retiredKeyFrom(dir))}) is not in host.key.retired: records up to ${record} cannot be verified; restore host.key.retired from its backup`);
    const h = withReader(dir, (s) => s.readHistory());
    expect(h.entries.find((e) => e.seq === record - 1)).toMatchObject({ verified: false, problem: `the host key it was MAC'd with (retired by the rotation in record ${record}) is not in host.key.retired: it cannot be verified` });
    runOnce(dir);
    expect(withReader(dir, (s) => s.readHistory()).entries.find((e) => e.seq === record + 1)?.verified).toBe(true);
    writeFileSync(join(dir, "host.key.retired"), `${record} ${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
    expect(verified(dir)?.message).toMatch(new RegExp(`the key host.key.retired keeps for record ${record} is not the one the rotation in record ${record} retired`));
    writeFileSync(join(dir, "host.key.retired"), "not a key\n", { mode: 0o600 });
    expect(verified(dir)?.message).toMatch(/host.key.retired are not as Covenant writes them \(line 1/);
    renameSync(join(dir, "retired.bak"), join(dir, "host.key.retired"));
    expect(verified(dir)).toBeUndefined();
  });
});

/** The retired key read from the backup the missing-file test keeps. */
function retiredKeyFrom(dir: string): Buffer {
  return Buffer.from(readFileSync(join(dir, "retired.bak"), "utf8").trim().split(" ")[1]!, "hex");
}
