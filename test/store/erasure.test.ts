// What the review erased or put back without verify noticing: a store emptied while its key
// remains, a killed run erased by removing the write-ahead log, a run counter set absurdly far
// forward, learnt bands put back from an older copy or deleted, and records renumbered that
// history still called verified. Each is now tampering, and history and verify agree.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostKeys } from "../../src/store/host-keys.ts";
import { findTampering, type LedgerRow } from "../../src/store/ledger.ts";
import { StateStore } from "../../src/store/store.ts";
import { bin, covenant, ensureBuilt } from "../helpers/cli.ts";
import { populated, raw, removeTempDirs, result, runBody, tempDir } from "./helpers.ts";

beforeAll(() => ensureBuilt());
afterAll(() => removeTempDirs());

/** A policy over `count` loose ledger files (repaired by perms), and a state directory after one run. */
function ledger(count = 3): { dir: string; policy: string; state: string; loosen: () => void } {
  const dir = tempDir("erasure");
  mkdirSync(join(dir, "ledger"));
  const files = Array.from({ length: count }, (_, i) => join(dir, "ledger", `gl-${i}.dat`));
  for (const f of files) writeFileSync(f, "entry\n");
  const loosen = () => files.forEach((f) => chmodSync(f, 0o666));
  loosen();
  const policy = join(dir, "p.promise");
  writeFileSync(policy, `control "ITGC-CM-02" {\n  title = "Ledger files"\n${files.map((f) => `  file "${f}" { mode = 0640 repair = perms }`).join("\n")}\n}\n`);
  const state = join(dir, "state");
  expect(covenant(["run", "--quiet", "--state", state, policy]).code).toBe(0);
  return { dir, policy, state, loosen };
}

const verify = (state: string) => covenant(["verify", "--state", state]);

describe("a store emptied while what vouched for it remains", () => {
  it("state.db written over with nothing, its anchor and log removed, the key left: tampering, and no new history under the old key", () => {
    const l = ledger();
    const key = readFileSync(join(l.state, "host.key"), "utf8");
    writeFileSync(join(l.state, "state.db"), "");
    for (const f of readdirSync(l.state)) if (f.startsWith("state.db-") || f === "ledger.head") rmSync(join(l.state, f));
    const v = verify(l.state);
    expect(v.code, v.err).toBe(1);
    expect(v.out).toMatch(/^TAMPERED: the store .*state\.db holds no tables \(it was emptied\), but the host key made with it remains: the history was deleted or moved\..* \(deleted\)\n$/);
    const r = covenant(["run", "--state", l.state, l.policy]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("holds no tables (it was emptied), but the host key made with it remains");
    expect(existsSync(join(l.state, "ledger.head"))).toBe(false);
    expect(readFileSync(join(l.state, "host.key"), "utf8")).toBe(key);
    expect(verify(l.state).code).toBe(1);
  });

  it("state.db emptied with its anchor left: tampering, naming what the anchor vouched for", () => {
    const l = ledger();
    writeFileSync(join(l.state, "state.db"), "");
    for (const f of readdirSync(l.state)) if (f.startsWith("state.db-")) rmSync(join(l.state, f));
    const v = verify(l.state);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/holds no tables \(it was emptied\), but its head anchor ledger\.head remains \(it vouches for \d+ records\)/);
  });

  it("every table emptied and the anchor removed, the key left: tampering, not `intact: 0 records`", () => {
    const l = ledger();
    const db = raw(l.state);
    for (const t of ["ledger", "current", "meta", "baselines", "bands"]) db.exec(`DELETE FROM ${t}`);
    db.close();
    rmSync(join(l.state, "ledger.head"));
    const v = verify(l.state);
    expect(v.code).toBe(1);
    expect(v.out).toContain("the head anchor");
    expect(v.out).toContain("is missing, but the host key made after it remains: it was deleted, and the history cannot be proved complete");
    expect(covenant(["run", "--state", l.state, l.policy]).code).toBe(2);
  });

  it("a new store's making stopped part way (tables, no anchor, no key) is made again, not refused", () => {
    const dir = tempDir();
    const store = StateStore.open(dir);
    store.close();
    rmSync(join(dir, "host.key"));
    rmSync(join(dir, "ledger.head"));
    const again = StateStore.open(dir);
    const run = again.beginRun();
    again.recordResult(run, "2026-11-23T10:00:00.000Z", result("C-1/file:a", "kept"));
    again.finishRun(runBody(run, 1));
    expect(again.verify().tampering).toBeUndefined();
    again.close();
  });
});

describe("a run erased by removing the write-ahead log after it was killed", () => {
  it("is found: the head anchor written as the run began names it; the next run does not reuse its number", async () => {
    const l = ledger(4);
    const ready = join(l.dir, "ready");
    // the run records the four files, then waits in a command until the test kills it
    writeFileSync(
      l.policy,
      readFileSync(l.policy, "utf8") + `control "ZZ-1" {\n  title = "wait"\n  command ["/bin/sh", "-c", "touch ${ready}; sleep 60"] { timeout = 90s }\n}\n`,
    );
    l.loosen();
    const child = spawn(bin, ["run", "--state", l.state, l.policy], { stdio: "ignore" });
    const exited = new Promise((r) => child.once("exit", r));
    for (let i = 0; i < 400 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(ready)).toBe(true);
    child.kill("SIGKILL");
    await exited;
    const before = covenant(["verify", "--json", "--state", l.state]);
    expect(before.code, before.out).toBe(0);
    expect(JSON.parse(before.out)).toMatchObject({ interrupted: [2] });
    rmSync(join(l.state, "state.db-wal"));
    rmSync(join(l.state, "state.db-shm"), { force: true });
    const v = verify(l.state);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/^TAMPERED: run 2 began \(the head anchor ledger\.head, written as it began, says so\), but the store holds no trace of it: its records were deleted \(removing state\.db-wal after a run was killed erases that run\) \(deleted\)\n$/);
    const h = covenant(["history", "--state", l.state]);
    expect(h.code).toBe(1);
    expect(h.out).toContain("TAMPERED: run 2 began");
    const r = covenant(["run", "--state", l.state, l.policy]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("cannot be continued: run 2 began");
  }, 60_000);
});

describe("the run counter", () => {
  it("set absurdly far forward is tampering, answered at once (it made verify die out of memory)", () => {
    const l = ledger();
    raw(l.state).prepare("UPDATE meta SET value = '1000000000000000' WHERE key = 'last_run'").run();
    const started = Date.now();
    const v = verify(l.state);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(v.code).toBe(1);
    expect(v.out).toContain("the run counter in the database says 1000000000000000, but the head anchor ledger.head says run 1 began last: the counter was set forward");
    raw(l.state).prepare("UPDATE meta SET value = '1e15' WHERE key = 'last_run'").run();
    expect(verify(l.state).out).toContain("the run counter in the database is not a run number: it was edited");
  });

  it("without the run anchor (a store from an older Covenant), a counter far past the last recorded run is tampering too; silent runs are listed up to 100", () => {
    const { dir, store } = populated(2);
    const key = Buffer.from(readFileSync(join(dir, "host.key"), "utf8").trim(), "hex");
    // an anchor as an older Covenant wrote it: no run in it
    const head = JSON.parse(readFileSync(join(dir, "ledger.head"), "utf8")) as { seq: number; mac: string };
    writeFileSync(join(dir, "ledger.head"), JSON.stringify(sealHeadOld(key, head.seq, head.mac)) + "\n");
    raw(dir).prepare("UPDATE meta SET value = '150' WHERE key = 'last_run'").run();
    const r = store.verify();
    expect(r.tampering).toBeUndefined();
    expect(r.silentCount).toBe(148);
    expect(r.silent).toHaveLength(100);
    expect(r.silent.at(-1)).toBe(150);
    raw(dir).prepare("UPDATE meta SET value = '1000000000000000' WHERE key = 'last_run'").run();
    expect(store.verify().tampering).toMatchObject({ kind: "altered", message: "the run counter in the database says 1000000000000000, far past the last recorded run (2): it was set forward" });
    store.close();
  });
});

describe("learnt bands put back or deleted", () => {
  function learnt(): { dir: string; store: StateStore } {
    const dir = tempDir();
    const store = StateStore.open(dir);
    for (const values of [[10, 12, 14, 11, 13], [12, 14, 16]]) {
      const run = store.beginRun();
      for (const v of values) store.observe("load.5m", 5, v);
      store.observe("load.5m", 6, values[0]!);
      store.finishRun(runBody(run, 0));
    }
    return { dir, store };
  }

  it("a band put back with its own valid seal (count 8 over 9), or deleted, no longer matches the digest the last summary anchored", () => {
    const { dir, store } = learnt();
    const db = raw(dir);
    const row = db.prepare("SELECT * FROM bands WHERE hour = 5").get() as Record<string, unknown>;
    const run = store.beginRun();
    store.observe("load.5m", 5, 30);
    store.finishRun(runBody(run, 0));
    expect(store.verify().tampering).toBeUndefined();
    expect(db.prepare("SELECT count FROM bands WHERE hour = 5").pluck().get()).toBe(9);
    // put back the row as it was, seal and all: every seal still matches
    db.prepare("INSERT OR REPLACE INTO bands VALUES (@metric, @hour, @count, @mean, @m2, @seal)").run(row);
    const message = "the learnt bands are not the ones the last run left (the head anchor in the database records their digest): a band was put back from an older copy, added or deleted";
    expect(store.verify().tampering).toEqual({ kind: "altered", seq: 0, message });
    store.close();
    // the next run uses none of them, says why, and discards them in its summary
    const next = StateStore.open(dir);
    const n = next.beginRun();
    expect(() => next.observe("load.5m", 5, 12)).toThrow(/the learnt bands are not the ones the last run left .* No band is used in this run; it discards them all, and they are learnt again from the next run/);
    next.finishRun(runBody(n, 0));
    const summary = next.history().at(-1)!.body as { notes?: string[] };
    expect(summary.notes).toEqual(["the learnt bands are not the ones the last run left (a band was put back from an older copy, added or deleted): all 2 learnt bands discarded, to be learnt again from the next run"]);
    expect(next.verify().tampering).toBeUndefined();
    const again = next.beginRun();
    expect(next.observe("load.5m", 5, 12)).toEqual({ count: 0, mean: 0, stddev: 0 });
    next.finishRun(runBody(again, 0));
    // a band deleted is found the same way
    raw(dir).prepare("DELETE FROM bands").run();
    expect(next.verify().tampering).toEqual({ kind: "altered", seq: 0, message });
    next.close();
  });
});

describe("history agrees with verify", () => {
  it("records renumbered to leave a gap are not shown as verified", () => {
    const { dir, store } = populated(3);
    const db = raw(dir);
    for (const seq of db.prepare("SELECT seq FROM ledger WHERE seq >= 5 ORDER BY seq DESC").pluck().all() as number[]) db.prepare("UPDATE ledger SET seq = seq + 3 WHERE seq = ?").run(seq);
    expect(store.verify().tampering).toMatchObject({ kind: "deleted", seq: 5 });
    const marked = store.history().filter((e) => !e.verified);
    expect(marked.map((e) => `${e.seq}: ${e.problem}`)).toEqual(["8: records before it are missing, or it was renumbered (expected record 5): it cannot be verified"]);
    store.close();
  });

  it("for any deletion, renumbering, alteration or insertion, history marks a record or the chain's end exactly when verify finds the chain broken (property)", () => {
    const { dir, store } = populated(4);
    const db = raw(dir);
    const pristine = db.prepare("SELECT * FROM ledger ORDER BY seq").all() as LedgerRow[];
    const restore = () => {
      db.exec("DELETE FROM ledger");
      const put = db.prepare("INSERT INTO ledger VALUES (@seq, @kind, @run, @time, @body, @mac)");
      for (const r of pristine) put.run(r);
    };
    const n = pristine.length;
    const edit = fc.oneof(
      fc.record({ op: fc.constant("delete" as const), at: fc.integer({ min: 1, max: n }) }),
      fc.record({ op: fc.constant("shift" as const), at: fc.integer({ min: 1, max: n }), by: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ op: fc.constant("alter" as const), at: fc.integer({ min: 1, max: n }) }),
      fc.record({ op: fc.constant("insert" as const), at: fc.integer({ min: 1, max: n }) }),
      fc.record({ op: fc.constant("none" as const) }),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        try {
          for (const e of edits) {
            if (e.op === "delete") db.prepare("DELETE FROM ledger WHERE seq = ?").run(e.at);
            else if (e.op === "shift") for (const seq of db.prepare("SELECT seq FROM ledger WHERE seq >= ? ORDER BY seq DESC").pluck().all(e.at) as number[]) db.prepare("UPDATE ledger SET seq = seq + ? WHERE seq = ?").run(e.by, seq);
            else if (e.op === "alter") db.prepare("UPDATE ledger SET body = body || ' ' WHERE seq = ?").run(e.at);
            else if (e.op === "insert" && !db.prepare("SELECT 1 FROM ledger WHERE seq = ?").get(e.at + 1000)) db.prepare("INSERT INTO ledger VALUES (?, 'change', 1, 't', '{}', zeroblob(32))").run(e.at + 1000);
          }
          const rows = db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger ORDER BY seq").all() as LedgerRow[];
          const key = Buffer.from(readFileSync(join(dir, "host.key"), "utf8").trim(), "hex");
          const chain = findTampering(HostKeys.single(key), rows);
          const read = store.readHistory();
          const flagged = read.entries.some((x) => !x.verified) || read.end !== undefined;
          if ((chain !== undefined || read.end !== undefined) !== flagged) return false;
          if (!chain) return true;
          // the record verify names (or, for records deleted, the first one after them) is marked
          const named = chain.kind === "deleted" ? read.entries.find((x) => x.seq > chain.seq) : read.entries.find((x) => x.seq === chain.seq);
          return named === undefined || !named.verified;
        } finally {
          restore();
        }
      }),
      { numRuns: 80 },
    );
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });
});

/** A head anchor as Covenant wrote it before anchors carried the run (and the schema). */
function sealHeadOld(key: Buffer, seq: number, mac: string): { seq: number; mac: string; seal: string } {
  return { seq, mac, seal: createHmac("sha256", key).update(`head\n${seq}\n${mac}`).digest("hex") };
}
