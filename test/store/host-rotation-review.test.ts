// What review and attack found in the host key's rotation, kept fixed: a reader opened before a
// rotation another process commits still verifies intact; a record forged into a rotation of the
// host key in a store that never rotated is named as the chain names any altered record; the
// store's record of the key in force edited is found by verify; a line already in host.key.retired
// for the rotation's record, holding another key, stops the rotation before the old key is thrown
// away; a schedule entry at record 0 is no schedule.
import { appendFileSync, readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { StateStore } from "../../src/store/store.ts";
import { populated, raw, removeTempDirs } from "./helpers.ts";
import { rotate, runOnce, withReader } from "./host-rotation-helpers.ts";

afterAll(() => removeTempDirs());

describe("the host key's rotation, after review", () => {
  it("a reader opened before another process's rotation reads the schedule its read sees: intact, not edited", () => {
    const { dir, store } = populated(3);
    store.close();
    rotate(dir);
    const reader = StateStore.openReadOnly(dir);
    try {
      rotate(dir);
      runOnce(dir);
      expect(reader.verify().tampering).toBeUndefined();
      expect(reader.history().every((e) => e.verified)).toBe(true);
      const seen: boolean[] = [];
      reader.scanHistory({}, (r) => seen.push(r.verified));
      expect(seen.every(Boolean)).toBe(true);
    } finally {
      reader.close();
    }
  });

  it("names a record forged into a host rotation, in a store that never rotated, as the chain names any altered record", () => {
    const { dir, store } = populated(3);
    store.close();
    const db = raw(dir);
    const seq = Number(db.prepare("SELECT max(seq) FROM ledger").pluck().get()) - 1;
    db.prepare("UPDATE ledger SET kind = 'rotation', body = ? WHERE seq = ?").run(JSON.stringify({ key: "host", old: { id: "x" }, new: { id: "y" } }), seq);
    db.close();
    const t = withReader(dir, (s) => s.verify().tampering);
    expect(t?.seq).toBe(seq);
    expect(t?.message).toMatch(/altered|inserted/);
    expect(t?.message).not.toMatch(/rotation of the host key as Covenant writes it/);
  });

  it("finds the store's record of the key in force edited, which would refuse every run", () => {
    const { dir, store } = populated(3);
    store.close();
    rotate(dir);
    expect(withReader(dir, (s) => s.verify().tampering)).toBeUndefined();
    const db = raw(dir);
    db.prepare("UPDATE meta SET value = '0000000000000000' WHERE key = 'host_key_id'").run();
    db.close();
    expect(withReader(dir, (s) => s.verify().tampering?.message)).toMatch(/host_key_id/);
  });

  it("keeps the old key in host.key when host.key.retired already holds another key for the rotation's record", () => {
    const { dir, store } = populated(3);
    store.close();
    const next = withReader(dir, (s) => s.lastRecord()!.seq) + 1;
    const before = readFileSync(join(dir, "host.key"), "utf8");
    appendFileSync(join(dir, "host.key.retired"), `${next} ${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
    expect(() => rotate(dir)).toThrow(/already holds another key for record/);
    expect(readFileSync(join(dir, "host.key"), "utf8")).toBe(before);
  });

  it("takes a schedule entry at record 0 for no schedule: the rotations it should name are then unnamed", () => {
    const { dir, store } = populated(3);
    store.close();
    rotate(dir);
    const db = raw(dir);
    const schedule = JSON.parse(db.prepare("SELECT value FROM meta WHERE key = 'host_rotations'").pluck().get() as string) as { seq: number; old: string; new: string }[];
    db.prepare("UPDATE meta SET value = ? WHERE key = 'host_rotations'").run(JSON.stringify([{ seq: 0, old: "0".repeat(16), new: schedule[0]!.old }, ...schedule]));
    db.close();
    expect(withReader(dir, (s) => s.verify().tampering)).toBeDefined();
  });
});
