// A deficiency's life in the store: opened by the change record that found a promise deficient,
// updated under the same id while it stays deficient and changes, resolved by the record that
// finds it kept (or repaired, waived, skipped), and a notice for a repair made at once. Each
// change writes its outbox event in the same transaction (outbox.test.ts shows that).
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Deficiency } from "../../src/notifiers/contract.ts";
import { base32, deficiencyId, hostKeyId } from "../../src/store/deficiencies.ts";
import { StateStore, type ChangeBody } from "../../src/store/store.ts";
import { removeTempDirs, result, runBody, tempDir } from "./helpers.ts";
import { at, finding } from "./notify-helpers.ts";

afterAll(() => removeTempDirs());

const ID = /^d-[0-9a-hjkmnp-tv-z]{8}$/;
const KEY = "ITGC-AC-01/file:/srv/ledger/gl.dat";

/** Records one result per run, each run finished, and returns the store. */
function runs(store: StateStore, outcomes: [string, Parameters<typeof result>[1], string[]][]): void {
  for (const [key, outcome, differences] of outcomes) {
    const run = store.beginRun();
    store.recordResult(run, at(run), result(key, outcome, differences), finding());
    store.finishRun(runBody(run, 1));
  }
}

function events(store: StateStore): { deficiency: string; event: string; run: number }[] {
  const db = (store as unknown as { db: import("better-sqlite3").Database }).db;
  return db.prepare("SELECT deficiency, event, run FROM outbox_events ORDER BY seq").all() as { deficiency: string; event: string; run: number }[];
}

function changeSeqs(store: StateStore): number[] {
  return store.history({ kinds: ["change"] }).map((e) => e.seq);
}

describe("a deficiency's life", () => {
  it("opens on drift, stays the same through the same drift, is updated under its id when it changes, and is resolved when kept", () => {
    const store = StateStore.open(tempDir("deficiency"));
    runs(store, [[KEY, "drift", ["mode is 0644, promised 0640"]]]);
    const [opened] = store.listDeficiencies();
    expect(opened).toMatchObject({ key: KEY, status: "open", notice: false, outcome: "drift", reason: "mode is 0644, promised 0640", differences: ["mode is 0644, promised 0640"], openedRun: 1, host: "ledger-01" });
    expect(opened!.id).toMatch(ID);
    expect(opened!.control).toEqual(finding().control);
    expect(opened!.promise).toEqual({ type: "file", promiser: "/srv/ledger/gl.dat", stakeholders: ["security"], dependsOn: [], file: "ledger.promise", line: 3 });
    expect(opened!.promised).toEqual(["mode = 0640"]);
    expect(opened!.openedRecord).toBe(changeSeqs(store)[0]);
    expect(opened!.lastRecord).toBe(opened!.openedRecord);

    // the same drift: no record, no change, no event (the fast path)
    const run2 = store.beginRun();
    expect(store.recordResult(run2, at(run2), result(KEY, "drift", ["mode is 0644, promised 0640"]), finding())).toBe(false);
    store.finishRun(runBody(run2, 1));
    expect(store.listDeficiencies()).toEqual([opened]);

    runs(store, [
      [KEY, "drift", ["owner is bob, promised root"]],
      [KEY, "error", ["cannot read /srv/ledger/gl.dat"]],
    ]);
    const [updated] = store.listDeficiencies();
    expect(updated).toMatchObject({ id: opened!.id, status: "open", outcome: "error", reason: "cannot read /srv/ledger/gl.dat", openedRecord: opened!.openedRecord, openedAt: opened!.openedAt, updatedAt: at(4) });
    expect(updated!.lastRecord).toBe(changeSeqs(store).at(-1));

    runs(store, [[KEY, "kept", []]]);
    expect(store.listDeficiencies()).toEqual([]);
    const [resolved] = store.listDeficiencies({ status: "resolved" });
    expect(resolved).toMatchObject({ id: opened!.id, status: "resolved", outcome: "error", resolvedBy: "kept", resolvedAt: at(5), resolvedRun: 5 });
    expect(events(store)).toEqual([
      { deficiency: opened!.id, event: "opened", run: 1 },
      { deficiency: opened!.id, event: "updated", run: 3 },
      { deficiency: opened!.id, event: "updated", run: 4 },
      { deficiency: opened!.id, event: "resolved", run: 5 },
    ]);

    // found again: a new deficiency, with a new id
    runs(store, [[KEY, "failed", ["mode is 0644, promised 0640"]]]);
    const [again] = store.listDeficiencies();
    expect(again!.id).toMatch(ID);
    expect(again!.id).not.toBe(opened!.id);
    expect(store.listDeficiencies({ status: "all" }).map((d) => d.id)).toEqual([opened!.id, again!.id]);
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("skipped and waived resolve too, each saying so", () => {
    const store = StateStore.open(tempDir("deficiency"));
    runs(store, [
      ["C-1/file:a", "drift", ["mode is 0644, promised 0640"]],
      ["C-1/file:b", "drift", ["mode is 0644, promised 0640"]],
      ["C-1/file:a", "waived", ["mode is 0644, promised 0640"]],
      ["C-1/file:b", "skipped", []],
    ]);
    expect(store.listDeficiencies({ status: "resolved" }).map((d) => [d.key, d.resolvedBy])).toEqual([
      ["C-1/file:a", "waived"],
      ["C-1/file:b", "skipped"],
    ]);
    store.close();
  });

  it("a repair with nothing open is a notice, told once; a repair of an open deficiency resolves it, with no notice", () => {
    const store = StateStore.open(tempDir("deficiency"));
    runs(store, [[KEY, "repaired", ["mode is 0666, promised 0640"]]]);
    const [notice] = store.listDeficiencies({ status: "all" });
    expect(notice).toMatchObject({ notice: true, status: "resolved", outcome: "repaired", resolvedBy: "repaired", resolvedRun: 1 });
    expect(notice!.resolvedAt).toBe(notice!.openedAt);
    expect(store.listDeficiencies()).toEqual([]);

    runs(store, [
      [KEY, "drift", ["mode is 0644, promised 0640"]],
      [KEY, "repaired", ["mode is 0644, promised 0640"]],
    ]);
    const all = store.listDeficiencies({ status: "all" });
    expect(all).toHaveLength(2);
    expect(all[1]).toMatchObject({ notice: false, status: "resolved", outcome: "drift", resolvedBy: "repaired", resolvedRun: 3 });
    expect(events(store).map((e) => e.event)).toEqual(["notice", "opened", "resolved"]);
    store.close();
  });

  it("at most one open deficiency per promise, each promise its own", () => {
    const store = StateStore.open(tempDir("deficiency"));
    const run = store.beginRun();
    for (const key of ["C-1/file:a", "C-1/file:b", "C-2/file:a"]) store.recordResult(run, at(run), result(key, "drift", ["mode is 0644, promised 0640"]), finding());
    store.finishRun(runBody(run, 3));
    for (let i = 0; i < 3; i++) runs(store, [["C-1/file:a", i % 2 === 0 ? "error" : "drift", [`reason ${i}`]]]);
    const open = store.listDeficiencies();
    expect(open.map((d) => d.key)).toEqual(["C-1/file:a", "C-1/file:b", "C-2/file:a"]);
    expect(new Set(open.map((d) => d.id)).size).toBe(3);
    store.close();
  });

  it("a result recorded without its finding still opens a deficiency, from what the result says", () => {
    const store = StateStore.open(tempDir("deficiency"));
    const run = store.beginRun();
    store.recordResult(run, at(run), result("C-9/file:x", "drift", ["mode is 0644, promised 0640"]));
    const [d] = store.listDeficiencies();
    expect(d).toMatchObject({ control: { id: "C-9", title: "C-9", severity: "medium", key: false }, promise: { type: "file", file: "p.promise", line: 1 } });
    store.close();
  });
});

describe("ids", () => {
  it("are d- and 8 base32 characters of the host key, the promise and the record that opened it, found by a unique prefix", () => {
    const dir = tempDir("deficiency");
    const store = StateStore.open(dir);
    runs(store, [[KEY, "drift", ["mode is 0644, promised 0640"]]]);
    const [d] = store.listDeficiencies();
    const key = Buffer.from(readFileSync(join(dir, "host.key"), "utf8").trim(), "hex");
    expect(d!.id).toBe(deficiencyId(hostKeyId(key), KEY, 1, d!.openedRecord));
    expect(store.findDeficiency(d!.id)).toEqual(d);
    expect(store.findDeficiency(d!.id.slice(0, 6))).toEqual(d);
    expect(store.findDeficiency(d!.id.slice(2, 7).toUpperCase())).toEqual(d);
    // fewer than 4 characters after d- name nothing, however few deficiencies there are
    expect(store.findDeficiency(d!.id.slice(0, 5))).toBeUndefined();
    expect(store.findDeficiency("d-zzzzzzzz")).toBeUndefined();
    store.close();
  });

  it("a prefix two ids share is ambiguous, and says which", () => {
    const dir = tempDir("deficiency");
    const store = StateStore.open(dir);
    const keyId = hostKeyId(Buffer.from(readFileSync(join(dir, "host.key"), "utf8").trim(), "hex"));
    // two promises whose deficiencies, opened by records 1 and 2 of run 1, share 4 characters
    const first = new Map<string, string>();
    for (let i = 0; i < 3000; i++) first.set(deficiencyId(keyId, `C-1/file:${i}`, 1, 1).slice(0, 6), `C-1/file:${i}`);
    let pair: [string, string] | undefined;
    for (let j = 0; j < 3000 && !pair; j++) {
      const other = first.get(deficiencyId(keyId, `C-2/file:${j}`, 1, 2).slice(0, 6));
      if (other) pair = [other, `C-2/file:${j}`];
    }
    expect(pair).toBeDefined();
    const run = store.beginRun();
    for (const key of pair!) store.recordResult(run, at(run), result(key, "drift", ["mode is 0644, promised 0640"]), finding());
    const [a, b] = store.listDeficiencies() as [Deficiency, Deficiency];
    expect(a.id.slice(0, 6)).toBe(b.id.slice(0, 6));
    expect(store.findDeficiency(a.id.slice(0, 6))).toEqual({ ambiguous: [a.id, b.id].sort() });
    expect(store.findDeficiency(a.id)).toEqual(a);
    store.close();
  });
});

describe("system findings", () => {
  it("a channel that keeps failing opens a deficiency like a promise's; kept resolves it; kept for what never failed writes nothing", () => {
    const store = StateStore.open(tempDir("deficiency"));
    const system = { ...finding("COVENANT-NOTIFY"), type: "channel", promiser: "mail" };
    const before = store.history().length;
    store.recordSystemFinding("COVENANT-NOTIFY/channel:mail", system, "kept", "delivered", at(1));
    expect(store.history().length).toBe(before);
    store.recordSystemFinding("COVENANT-NOTIFY/channel:mail", system, "error", "3 deliveries failed in a row: connection refused", at(1));
    const [d] = store.listDeficiencies();
    expect(d).toMatchObject({ key: "COVENANT-NOTIFY/channel:mail", outcome: "error", openedRun: 0, promise: { type: "channel", promiser: "mail" } });
    expect((store.history({ kinds: ["change"] }).at(-1)!.body as ChangeBody).to).toBe("error");
    // the same failure again: nothing new
    store.recordSystemFinding("COVENANT-NOTIFY/channel:mail", system, "error", "4 deliveries failed in a row", at(2));
    expect(store.history().length).toBe(before + 1);
    store.recordSystemFinding("COVENANT-NOTIFY/channel:mail", system, "kept", "delivered", at(3));
    expect(store.listDeficiencies({ status: "all" })).toMatchObject([{ id: d!.id, status: "resolved", resolvedBy: "kept" }]);
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("inside a run, its records are the run's (its summary counts them); after the summary, they are no run's", () => {
    const store = StateStore.open(tempDir("deficiency"));
    const system = { ...finding("COVENANT-NOTIFY"), type: "channel", promiser: "sms" };
    const run = store.beginRun();
    store.recordSystemFinding("COVENANT-NOTIFY/channel:sms", system, "error", "twilio answered 401", at(run));
    store.finishRun(runBody(run, 1));
    store.recordSystemFinding("COVENANT-NOTIFY/channel:sms", system, "kept", "delivered", at(run, 30));
    const changes = store.history({ kinds: ["change"] });
    expect(changes.map((e) => e.run)).toEqual([1, 0]);
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });
});

describe("base32", () => {
  /** Crockford's base32 of the bytes' leading bits, through one big number: the long way round. */
  function reference(bytes: Uint8Array, length: number): string {
    const n = bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
    const bits = bytes.length * 8;
    let out = "";
    for (let i = 0; i < length; i++) out += "0123456789abcdefghjkmnpqrstvwxyz"[Number((n >> BigInt(bits - 5 * (i + 1))) & 31n)];
    return out;
  }

  it("is the leading bits of the bytes, 5 at a time, in Crockford's lowercase alphabet", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 5, maxLength: 40 }), fc.integer({ min: 1, max: 8 }), (bytes, length) => {
        const out = base32(Buffer.from(bytes), length);
        expect(out).toBe(reference(bytes, length));
        expect(out).toMatch(/^[0-9a-hjkmnp-tv-z]+$/);
      }),
    );
    expect(base32(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), 8)).toBe("zzzzzzzz");
    expect(base32(Buffer.from([0, 0x44, 0x32, 0x14, 0xc7]), 8)).toBe("01234567");
  });
});
