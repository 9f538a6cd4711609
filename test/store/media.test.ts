// The store on real, failing or read-only media: an auditor's read-only copy (with and without
// a log from a run in progress), a state directory that became read-only, and a full disk.
// Each is exit 0 or a clear exit 2, never an internal error, and leaves no empty lock behind.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync, openSync, writeSync, closeSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateStore } from "../../src/store/store.ts";
import { bin, covenant, ensureBuilt } from "../helpers/cli.ts";
import { removeTempDirs, result, tempDir } from "./helpers.ts";
import { canMount, mountFailingDisk, mountTmpfs, remount, unmountAll } from "./mounts.ts";

const probe = canMount(tempDir("probe"));
const skip = probe.ok ? "" : ` (skipped: ${probe.reason})`;

beforeAll(() => ensureBuilt());
afterAll(() => {
  unmountAll();
  removeTempDirs();
});

/** `count` ledger files with one promise each (integrity, repair = perms), all loose at first. */
function ledger(count: number, extra = ""): { dir: string; policy: string; loosen: () => void; files: string[] } {
  const dir = tempDir("media");
  mkdirSync(join(dir, "ledger"));
  const files = Array.from({ length: count }, (_, i) => join(dir, "ledger", `gl-${i}.dat`));
  for (const f of files) writeFileSync(f, `entry ${f}\n`);
  const loosen = () => files.forEach((f) => chmodSync(f, 0o666));
  loosen();
  const policy = join(dir, "ledger.promise");
  writeFileSync(policy, `control "ITGC-CM-02" {\n  title = "Ledger files"\n${files.map((f) => `  file "${f}" { mode = 0640 integrity = sha256 repair = perms }`).join("\n")}\n}\n${extra}`);
  return { dir, policy, loosen, files };
}

/** Fills the file system holding `dir` until it refuses another byte, then frees `leave` bytes. */
function fill(dir: string, leave = 0): void {
  const filler = join(dir, "filler");
  const fd = openSync(filler, "w");
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
  if (leave > 0) spawnSync("truncate", ["-s", String(Math.max(0, statSync(filler).size - leave)), filler]);
}

/** The modes of the files now. */
const modes = (files: string[]) => files.map((f) => statSync(f).mode & 0o777);

/** The promisers of run `run`'s records that applied a chmod, from `history --json`. */
function recordedChmods(state: string, run: number): Set<string> {
  const h = covenant(["history", "--json", "--changes", "--state", state]);
  const entries = JSON.parse(h.out) as { run: number; body: { promiser: string; changes: string[] } }[];
  return new Set(entries.filter((e) => e.run === run && e.body.changes.some((c) => c.startsWith("applied: chmod"))).map((e) => e.body.promiser));
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
    expect(mountTmpfs(media, "32m").ok).toBe(true);
    const state = join(media, "state");
    const first = covenant(["run", "--quiet", "--state", state, l.policy]);
    expect(first.code, first.err).toBe(0);
    fill(media);
    const messages = new Set<string>();
    // free a little more each time, so that the disk fills up at a later point of the run
    for (let attempt = 0; attempt < 12; attempt++) {
      l.loosen();
      const r = covenant(["run", "--quiet", "--state", state, l.policy]);
      expect([0, 2], `attempt ${attempt}: ${r.err}`).toContain(r.code);
      expect(r.err).not.toContain("internal error");
      if (r.code === 2) {
        messages.add(r.err.replace(/\/tmp\S*/g, "PATH"));
        // whatever the run changed is in the history, or named in its report as not recorded
        const changed = l.files.filter((f) => (statSync(f).mode & 0o777) === 0o640);
        const run = /^covenant run (\d+) on/m.exec(r.out);
        if (!run) expect(changed, `attempt ${attempt}: no report, yet files changed`).toEqual([]);
        else {
          const listed = /changed but not recorded: (.*)\n/.exec(r.out)?.[1] ?? "";
          const unrecorded = new Set(listed.split("; ").map((c) => c.replace(/^chmod 0640 /, "")));
          const recorded = recordedChmods(state, Number(run[1]));
          for (const f of changed) expect(recorded.has(f) || unrecorded.has(f), `attempt ${attempt}: ${f} changed, neither recorded nor reported`).toBe(true);
        }
      }
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
    expect(mountTmpfs(media, "384k").ok).toBe(true);
    mkdirSync(join(media, "state"), { mode: 0o700 });
    fill(media);
    const r = covenant(["run", "--state", join(media, "state"), l.policy]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no space left on the device \(ENOSPC\)|the disk is full/);
    expect(readdirSync(join(media, "state")).filter((f) => !f.startsWith("state.db"))).toEqual([]);
    rmSync(join(media, "filler"));
    const again = covenant(["run", "--state", join(media, "state"), l.policy]);
    expect(again.code, again.err).toBe(0);
  });
});

/** Two controls of `half` loose ledger files each, and between them a command that waits for the test: a run to act on mid-way. */
function pausedLedger(half: number): { dir: string; policy: string; files: string[]; loosen: () => void; ready: string; go: string } {
  const dir = tempDir("paused");
  mkdirSync(join(dir, "ledger"));
  const files = Array.from({ length: half * 2 }, (_, i) => join(dir, "ledger", `gl-${i}.dat`));
  for (const f of files) writeFileSync(f, `entry ${f}\n`);
  const loosen = () => files.forEach((f) => chmodSync(f, 0o666));
  loosen();
  const ready = join(dir, "ready");
  const go = join(dir, "go");
  const block = (id: string, fs: string[]) => `control "${id}" {\n  title = "Ledger files"\n${fs.map((f) => `  file "${f}" { mode = 0640 repair = perms }`).join("\n")}\n}\n`;
  const policy = join(dir, "ledger.promise");
  writeFileSync(
    policy,
    block("ITGC-CM-01", files.slice(0, half)) +
      `control "ZZ-WAIT" {\n  title = "wait for the test"\n  command ["/bin/sh", "-c", "touch ${ready}; while [ ! -e ${go} ]; do sleep 0.05; done"] { timeout = 60s }\n}\n` +
      block("ITGC-CM-03", files.slice(half)),
  );
  return { dir, policy, files, loosen, ready, go };
}

async function until(path: string): Promise<void> {
  for (let i = 0; i < 600 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 50));
  expect(existsSync(path), `${path} never appeared`).toBe(true);
}

const failing = (() => {
  if (!probe.ok) return probe;
  const base = tempDir("ext4-probe");
  const mnt = join(base, "mnt");
  mkdirSync(mnt);
  const r = mountFailingDisk(mnt, 8);
  unmountAll();
  return r.ok ? { ok: true as const } : r;
})();

describe.skipIf(!failing.ok)(`a file system turned read-only in the middle of a run${failing.ok ? "" : ` (skipped: ${failing.reason})`}`, () => {
  it("the run stops changing the host, still reports, says what it changed that is not recorded, exits 2 (never 3), and the next run continues", async () => {
    const l = pausedLedger(10);
    const base = tempDir("ext4");
    const mnt = join(base, "mnt");
    mkdirSync(mnt);
    const disk = mountFailingDisk(mnt, 32);
    if (!disk.ok) throw new Error(disk.reason);
    const state = join(mnt, "state");
    writeFileSync(l.go, "");
    expect(covenant(["run", "--quiet", "--state", state, l.policy]).code).toBe(0);
    l.loosen();
    rmSync(l.ready);
    rmSync(l.go);
    const child = spawn(bin, ["run", "--state", state, l.policy], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
    await until(l.ready);
    disk.fail();
    writeFileSync(l.go, "");
    const code = await exited;
    expect(code, err).toBe(2);
    expect(err).not.toContain("internal error");
    // the first record after the failure fails; the lock cannot be removed from a read-only file system
    expect(err).toMatch(/covenant run: cannot record the result of ITGC-CM-03\/file:\S+ in the store \S+: (it cannot be written \(a read-only file system or file\)|an input\/output error) \(SQLITE_[A-Z_]+\); this run's records are incomplete/);
    expect(err).toMatch(/covenant run: cannot remove the run lock \S+run\.lock: the file system is read-only \(EROFS\); it is left behind/);
    // the report is printed, and says what happened
    expect(out).toContain("covenant run 2 on");
    expect(out).toMatch(/note: the store failed while this run recorded it \(.*\): its record is incomplete, 10 promise results not recorded, and it made no change after the failure; changed but not recorded: chmod 0640 \S+gl-10\.dat/);
    // nothing was changed after the failure: the rest of the second control's files are still loose
    expect(modes(l.files.slice(0, 11))).toEqual(Array(11).fill(0o640));
    expect(modes(l.files.slice(11))).toEqual(Array(9).fill(0o666));
    expect(out).toContain("not made: the store failed, so this run could not record it");
    disk.recover();
    // the lock left behind names a process that is gone: the next run takes it over and continues
    expect(existsSync(join(state, "run.lock"))).toBe(true);
    writeFileSync(l.go, "");
    const next = covenant(["run", "--state", state, l.policy]);
    expect(next.code, next.err).toBe(0);
    expect(next.out).toContain("took over the run lock left by a run that is gone");
    const v = covenant(["verify", "--state", state]);
    expect(v.code, v.out).toBe(0);
  }, 90_000);
});

describe.skipIf(!probe.ok)(`a disk that fills up during a run${skip}`, () => {
  it("200 repairs with 64 KiB left: every change made is recorded or reported as not recorded, none is made after the failure, and the report is printed", () => {
    const l = ledger(200);
    const media = tempDir("full200");
    // room for the first run's log: 200 repairs are 200 notices, each a deficiency and an outbox
    // event written with its record, and no checkpoint happens before the run's end
    expect(mountTmpfs(media, "32m").ok).toBe(true);
    const state = join(media, "state");
    const first = covenant(["run", "--quiet", "--state", state, l.policy]);
    expect(first.code, first.err + first.out).toBe(0);
    fill(media, 64 * 1024);
    l.loosen();
    const r = covenant(["run", "--state", state, l.policy]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).not.toContain("internal error");
    expect(r.err).toMatch(/the disk is full \(SQLITE_FULL\)|no space left on the device \(ENOSPC\)/);
    expect(r.out).toContain("covenant run 2 on");
    const note = /note: the store failed while this run recorded it \(.*\): its record is incomplete, (\d+) promise results? not recorded, and it made no change after the failure; (?:changed but not recorded: (.*)|it changed nothing that is not recorded)\n/.exec(r.out);
    expect(note, r.out).not.toBeNull();
    const unrecorded = new Set((note![2] ?? "").split("; ").filter(Boolean).map((c) => c.replace(/^chmod 0640 /, "")));
    rmSync(join(media, "filler"));
    const recorded = recordedChmods(state, 2);
    const changed = l.files.filter((f) => (statSync(f).mode & 0o777) === 0o640);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.length).toBeLessThan(200);
    // every file the run changed is in the history, or named by the report as changed but not recorded
    for (const f of changed) expect(recorded.has(f) || unrecorded.has(f), f).toBe(true);
    expect(unrecorded.size).toBeLessThanOrEqual(1);
    // and the run made no change after the store failed: the changed files are a prefix of the policy's
    expect(changed).toEqual(l.files.slice(0, changed.length));
    const v = covenant(["verify", "--state", state]);
    expect(v.code, v.out).toBe(0);
    // a run that recorded nothing may still have changed the host: verify never says it stopped at once
    expect(v.out).not.toContain("stopped at once");
    if (v.out.includes("recorded nothing")) expect(v.out).toContain("and may have changed the host before it could record");
    l.loosen();
    expect(covenant(["run", "--quiet", "--state", state, l.policy]).code).toBe(0);
  });
});
