// The rows an evaluation reads, read ahead a chunk a statement (run-reads.ts): every
// answer is the one its statement gives, a forged row is found as it is found when read by its
// statement, a row the run writes is read as written, and what was not read in advance (a glob's
// files) is read by its statement.
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import type { ApprovedEntry, Baseline } from "../../src/evaluator/contract.ts";
import { CHUNK, RunReads } from "../../src/store/run-reads.ts";
import { StateStore } from "../../src/store/store.ts";
import { raw, removeTempDirs, result, runBody, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);
afterEach(() => vi.restoreAllMocks());

const baseline = (digest: string): Baseline => ({ algorithm: "sha256", digest: digest.repeat(64), size: 1, mode: 0o640, uid: 0, gid: 0, mtimeMs: 1, approvedAt: "2026-11-23T10:00:00.000Z" });
const entry = (mode: number): ApprovedEntry => ({ state: { status: "present", type: "file", mode, uid: 0, gid: 0, size: 1, mtimeMs: 1, inode: 1, links: 1, digest: "b".repeat(64) } as unknown as ApprovedEntry["state"], noCopy: "test" });
const PATHS = ["/srv/a", "/srv/b", "/srv/c", "/srv/none"];
const KEYS = ["C-1/file:/srv/a", "C-1/file:/srv/b", "C-1/file:/srv/c", "C-1/file:none"];

/** A store with three promises recorded, three baselines and three approved states; one of each then forged in the database. */
function forgedStore(): string {
  const dir = tempDir("run-reads");
  const store = StateStore.open(dir);
  const run = store.beginRun();
  const t = "2026-11-23T10:00:00.500Z";
  for (const k of KEYS.slice(0, 3)) store.recordResult(run, t, result(k, "kept"));
  for (const [i, p] of PATHS.slice(0, 3).entries()) store.set(p, baseline(String(i + 1)));
  store.recordFirst("C-1/file:/srv/a", PATHS.slice(0, 3).map((p, i) => ({ hostPath: p, entry: entry(0o640 + i) })), t);
  store.finishRun(runBody(run, 3));
  store.close();
  const db = raw(dir);
  db.prepare("UPDATE current SET state = 'forged' WHERE key = ?").run(KEYS[1]);
  db.prepare("UPDATE baselines SET digest = ? WHERE path = '/srv/b'").run("f".repeat(64));
  db.prepare("UPDATE approved_states SET state = replace(state, '\"mode\":417', '\"mode\":420') WHERE path = '/srv/b'").run();
  db.close();
  return dir;
}

/** What a run sees of each path and key, with or without the prefetch. */
function answers(dir: string, prefetch: boolean) {
  const store = StateStore.open(dir);
  try {
    const run = store.beginRun();
    if (prefetch) expect(store.prefetch({ keys: KEYS, paths: PATHS })).toBe(true);
    const paths = PATHS.map((p) => ({ p, baseline: store.get(p), approved: store.approved(p) }));
    const recorded = KEYS.map((k) => {
      const r = result(k, "kept");
      return { k, written: store.recordResult(run, "2026-11-23T11:00:00.500Z", r), notes: r.notes };
    });
    store.dropPrefetched();
    return { paths, recorded, history: store.history().filter((e) => e.run === run).map((e) => ({ kind: e.kind, body: e.body })) };
  } finally {
    store.close();
  }
}

describe("the rows a run reads in advance", () => {
  it("answer as the statements do, a forged current state, baseline and approved state found alike", () => {
    const a = forgedStore();
    const b = forgedStore();
    const byStatement = answers(a, false);
    const prefetched = answers(b, true);
    expect(prefetched.paths).toEqual(byStatement.paths);
    expect(prefetched.recorded).toEqual(byStatement.recorded);
    expect(prefetched.history).toEqual(byStatement.history);
    // and what they say: the forged rows are found, the others compared
    expect(prefetched.paths.map((x) => x.baseline?.tampered ?? false)).toEqual([false, true, false, false]);
    expect(prefetched.paths.map((x) => x.approved?.tampered ?? false)).toEqual([false, true, false, false]);
    expect(prefetched.paths[3]).toEqual({ p: "/srv/none", baseline: undefined, approved: undefined });
    expect(prefetched.recorded.map((x) => x.written)).toEqual([false, true, false, true]);
    expect(prefetched.recorded[1]!.notes).toContain("the stored current state of this promise was changed outside Covenant (its seal did not match): recorded afresh");
  });

  it("are read a chunk at a time, each given once: a row read again, not asked for, or after the drop is read by its statement", () => {
    const dir = forgedStore();
    const store = StateStore.open(dir);
    try {
      store.beginRun();
      store.prefetch({ keys: KEYS, paths: ["/srv/a", "/srv/c"] });
      // the first asked for reads its chunk: /srv/c with it
      expect(store.get("/srv/a")).toMatchObject({ digest: "1".repeat(64) });
      const db = raw(dir);
      db.prepare("UPDATE baselines SET digest = ? WHERE path IN ('/srv/a', '/srv/c')").run("e".repeat(64));
      db.close();
      // kept from its chunk (under the run lock no other process writes it): its seal matches
      const kept = store.get("/srv/c");
      expect(kept).toMatchObject({ digest: "3".repeat(64) });
      expect(kept?.tampered).toBeUndefined();
      // given once: read again, it is its statement's, and the edit is found
      expect(store.get("/srv/c")).toMatchObject({ digest: "e".repeat(64), tampered: true });
      // not asked for (a glob's file): read by its statement, and its forged seal found
      expect(store.get("/srv/b")).toMatchObject({ digest: "f".repeat(64), tampered: true });
      store.dropPrefetched();
      expect(store.get("/srv/a")).toMatchObject({ digest: "e".repeat(64), tampered: true });
    } finally {
      store.close();
    }
  });

  it(`read ${CHUNK} values a statement: a policy larger than a chunk is read whole, chunk by chunk, in any order`, () => {
    const dir = tempDir("run-reads");
    const store = StateStore.open(dir);
    const n = CHUNK * 2 + 7;
    const paths = Array.from({ length: n }, (_, i) => `/srv/many/${i}`);
    try {
      store.beginRun();
      for (const [i, p] of paths.entries()) if (i % 3 !== 0) store.set(p, baseline(String(i % 10)));
      store.prefetch({ keys: [], paths });
      const take = vi.spyOn(RunReads.prototype, "takeBaseline");
      const order = [...paths.slice(CHUNK), ...paths.slice(0, CHUNK)].reverse();
      const got = new Map(order.map((p) => [p, store.get(p)]));
      // each answered from its chunk, and as its statement answers
      expect(take.mock.results.every((r) => r.value !== undefined)).toBe(true);
      store.dropPrefetched();
      for (const [i, p] of paths.entries()) expect(got.get(p), p).toEqual(i % 3 === 0 ? undefined : store.get(p));
    } finally {
      store.close();
    }
  });

  it("follow the run's own writes: a baseline, an approved state and a current state written are read as written", () => {
    const dir = forgedStore();
    const store = StateStore.open(dir);
    try {
      const run = store.beginRun();
      store.prefetch({ keys: KEYS, paths: PATHS });
      store.set("/srv/a", baseline("9"));
      store.set("/srv/none", baseline("8"));
      expect(store.get("/srv/a")).toMatchObject({ digest: "9".repeat(64) });
      expect(store.get("/srv/none")).toMatchObject({ digest: "8".repeat(64) });
      store.recordFirst("C-1/file:none", [{ hostPath: "/srv/none", entry: entry(0o600) }], "2026-11-23T11:00:00.000Z");
      expect(store.approved("/srv/none")).toMatchObject({ state: { mode: 0o600 } });
      expect(store.approved("/srv/none")?.tampered).toBeUndefined();
      // a state changed: written, then the same state again is no change
      expect(store.recordResult(run, "2026-11-23T11:00:00.500Z", result(KEYS[0]!, "drift", ["mode is 0644, promised 0640"]))).toBe(true);
      expect(store.recordResult(run, "2026-11-23T11:00:01.500Z", result(KEYS[0]!, "drift", ["mode is 0644, promised 0640"]))).toBe(false);
      expect(store.recordResult(run, "2026-11-23T11:00:02.500Z", result(KEYS[0]!, "kept"))).toBe(true);
      store.dropPrefetched();
      store.finishRun(runBody(run, 4));
      expect(store.verify().tampering?.message).toMatch(/C-1\/file:\/srv\/b|\/srv\/b/);
    } finally {
      store.close();
    }
  });

  it("are read only by a store opened for a run, and only what is asked for", () => {
    const dir = forgedStore();
    const reader = StateStore.openReadOnly(dir);
    try {
      expect(reader.prefetch({ keys: KEYS, paths: PATHS })).toBe(false);
    } finally {
      reader.close();
    }
    const store = StateStore.open(dir);
    try {
      store.prefetch({ keys: KEYS.slice(0, 1), paths: [] });
      const db = raw(dir);
      db.prepare("UPDATE current SET state = 'changed' WHERE key = ?").run(KEYS[2]);
      db.close();
      // the row not asked for is read as it is now, its seal found not to match
      const r = result(KEYS[2]!, "kept");
      expect(store.recordResult(store.beginRun(), "2026-11-23T11:00:00.500Z", r)).toBe(true);
      expect(r.notes).toContain("the stored current state of this promise was changed outside Covenant (its seal did not match): recorded afresh");
    } finally {
      store.close();
    }
  });
});
