// The store on real, failing or read-only media: an auditor's read-only copy (with and without
// a log from a run in progress), a state directory that became read-only, and a full disk.
// Each is exit 0 or a clear exit 2, never an internal error, and leaves no empty lock behind.
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readdirSync, statSync, writeFileSync, openSync, writeSync, closeSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../../src/store/store.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { removeTempDirs, result, tempDir } from "./helpers.ts";
import { canMount, mountTmpfs, remount, unmountAll } from "./mounts.ts";

const probe = canMount(tempDir("probe"));
const skip = probe.ok ? "" : ` (skipped: ${probe.reason})`;

beforeAll(() => ensureBuilt());
afterAll(() => {
  unmountAll();
  removeTempDirs();
});

/** `count` ledger files with one promise each (integrity, repair = perms), all loose at first. */
function ledger(count: number): { dir: string; policy: string; loosen: () => void } {
  const dir = tempDir("media");
  mkdirSync(join(dir, "ledger"));
  const files = Array.from({ length: count }, (_, i) => join(dir, "ledger", `gl-${i}.dat`));
  for (const f of files) writeFileSync(f, `entry ${f}\n`);
  const loosen = () => files.forEach((f) => chmodSync(f, 0o666));
  loosen();
  const policy = join(dir, "ledger.promise");
  writeFileSync(policy, `control "ITGC-CM-02" {\n  title = "Ledger files"\n${files.map((f) => `  file "${f}" { mode = 0640 integrity = sha256 repair = perms }`).join("\n")}\n}\n`);
  return { dir, policy, loosen };
}

/** Fills the file system holding `dir` until it refuses another byte. */
function fill(dir: string): void {
  const fd = openSync(join(dir, "filler"), "w");
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
}

const verifyJson = (state: string) => {
  const r = covenant(["verify", "--json", "--state", state]);
  return { code: r.code, err: r.err, report: r.out ? (JSON.parse(r.out) as { tampering?: unknown; records: number; runs: number[]; interrupted: number[]; opened: string }) : undefined };
};

describe.skipIf(!probe.ok)(`an auditor's read-only copy${skip}`, () => {
  it("verify and history read a copy on a read-only mount: the single file a run leaves, or a copy taken mid-run with its log", () => {
    const l = ledger(20);
    const state = join(l.dir, "state");
    for (let i = 0; i < 3; i++) {
      l.loosen();
      covenant(["run", "--quiet", "--state", state, l.policy]);
    }
    // a run leaves every record in state.db itself
    expect(readdirSync(state).filter((f) => f.startsWith("state.db-wal")).every((f) => statSync(join(state, f)).size === 0)).toBe(true);
    const finished = verifyJson(state).report!;
    expect(finished.tampering).toBeUndefined();

    const media = tempDir("auditor");
    expect(mountTmpfs(media, "32m").ok).toBe(true);
    cpSync(state, join(media, "copy"), { recursive: true });
    rmSync(join(media, "copy", "state.db-wal"), { force: true });
    rmSync(join(media, "copy", "state.db-shm"), { force: true });
    // a copy taken while a run is recording: committed records still in the log
    const live = StateStore.open(state);
    const run = live.beginRun();
    for (let i = 0; i < 5; i++) live.recordResult(run, new Date().toISOString(), result(`ITGC-CM-02/file:extra-${i}`, "kept"));
    for (const name of ["with-shm", "without-shm"]) {
      mkdirSync(join(media, name));
      for (const f of ["state.db", "state.db-wal", "state.db-shm", "host.key", "ledger.head"]) {
        if (name === "without-shm" && f === "state.db-shm") continue;
        cpSync(join(state, f), join(media, name, f));
      }
    }
    live.close();
    remount(media, "ro");
    const before = Object.fromEntries(["copy", "with-shm", "without-shm"].map((d) => [d, readdirSync(join(media, d)).sort().join(",")]));

    const copy = verifyJson(join(media, "copy"));
    expect(copy).toMatchObject({ code: 0, report: { records: finished.records, runs: finished.runs, opened: "immutable" } });
    for (const [name, opened] of [["with-shm", "shared"], ["without-shm", "private copy"]] as const) {
      const v = verifyJson(join(media, name));
      expect(v.code, `${name}: ${v.err}`).toBe(0);
      expect(v.report).toMatchObject({ records: finished.records + 5, interrupted: [run], opened });
      expect(v.report!.tampering).toBeUndefined();
    }
    for (const name of ["copy", "with-shm", "without-shm"]) {
      const h = covenant(["history", "--state", join(media, name)]);
      expect(h.code, `${name}: ${h.err}`).toBe(0);
      expect(h.out).toContain("run 3: 20 promises tested");
      expect(h.out).not.toContain("UNVERIFIED");
    }
    expect(Object.fromEntries(["copy", "with-shm", "without-shm"].map((d) => [d, readdirSync(join(media, d)).sort().join(",")]))).toEqual(before);
  });
});

describe.skipIf(!probe.ok)(`a state directory on failing media${skip}`, () => {
  it("a state directory that became read-only: run exits 2 and says so; verify and history still read it", () => {
    const l = ledger(5);
    const media = tempDir("ro-state");
    expect(mountTmpfs(media, "8m").ok).toBe(true);
    const state = join(media, "state");
    expect(covenant(["run", "--quiet", "--state", state, l.policy]).code).toBe(0);
    remount(media, "ro");
    l.loosen();
    const r = covenant(["run", "--state", state, l.policy]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/^covenant run: cannot take the run lock .*run\.lock: the file system is read-only \(EROFS\)\n$/);
    expect(verifyJson(state)).toMatchObject({ code: 0, report: { opened: "immutable" } });
    expect(covenant(["history", "--state", state]).code).toBe(0);
  });

  it("a full disk is exit 2 with the reason, at any point of a run, and leaves no lock or temporary file behind", () => {
    const l = ledger(150);
    const media = tempDir("full");
    expect(mountTmpfs(media, "16m").ok).toBe(true);
    const state = join(media, "state");
    expect(covenant(["run", "--quiet", "--state", state, l.policy]).code).toBe(0);
    fill(media);
    const messages = new Set<string>();
    // free a little more each time, so that the disk fills up at a later point of the run
    for (let attempt = 0; attempt < 12; attempt++) {
      l.loosen();
      const r = covenant(["run", "--quiet", "--state", state, l.policy]);
      expect([0, 2], `attempt ${attempt}: ${r.err}`).toContain(r.code);
      expect(r.err).not.toContain("internal error");
      if (r.code === 2) messages.add(r.err.replace(/\/tmp\S*/g, "PATH"));
      expect(readdirSync(state).filter((f) => f.startsWith("run.lock") || f.endsWith(".tmp"))).toEqual([]);
      const v = verifyJson(state);
      expect([0, 2], `verify after attempt ${attempt}: ${v.err}`).toContain(v.code);
      if (v.code === 0) expect(v.report!.tampering).toBeUndefined();
      const filler = join(media, "filler");
      const size = statSync(filler).size;
      spawnSync("truncate", ["-s", String(Math.max(0, size - 24 * 1024)), filler]);
    }
    expect([...messages].some((m) => /no space left on the device \(ENOSPC\)|the disk is full \(SQLITE_FULL\)/.test(m))).toBe(true);
    rmSync(join(media, "filler"));
    l.loosen();
    expect(covenant(["run", "--quiet", "--state", state, l.policy]).code).toBe(0);
    const v = verifyJson(state);
    expect(v.code).toBe(0);
    expect(v.report!.tampering).toBeUndefined();
  });

  it("a first run on a full disk leaves no empty lock or key behind", () => {
    const l = ledger(1);
    const media = tempDir("full-first");
    expect(mountTmpfs(media, "256k").ok).toBe(true);
    mkdirSync(join(media, "state"), { mode: 0o700 });
    fill(media);
    const r = covenant(["run", "--state", join(media, "state"), l.policy]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no space left on the device \(ENOSPC\)|the disk is full/);
    expect(readdirSync(join(media, "state")).filter((f) => !f.startsWith("state.db"))).toEqual([]);
    rmSync(join(media, "filler"));
    expect(covenant(["run", "--state", join(media, "state"), l.policy]).code).toBe(0);
  });
});
