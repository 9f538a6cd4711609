// The change gate's file operations: made through descriptors reached without following links,
// and only to the object that was observed.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeGate, type Change } from "../../src/evaluator/change-gate.ts";
import { identityOfPath } from "../../src/probes/file-identity.ts";
import { readStat } from "../../src/probes/processes.ts";
import { safeFs } from "../../src/native/safe-fs.ts";
import { evaluateOne } from "../helpers/evaluate.ts";

const temp = () => mkdtempSync(join(tmpdir(), "covenant-gate-"));
const mode = (p: string) => lstatSync(p).mode & 0o7777;
const identity = (p: string) => identityOfPath(p);
const apply = async (change: Change, gate = new ChangeGate({ dryRun: false })) => (await gate.apply([change]))[0]!;

describe.each([
  ["openat2", false],
  ["the component walk of kernels before 5.6", true],
])("file changes through descriptors (%s)", (_how, walk) => {
  beforeAll(() => safeFs()!.forceWalk(walk));
  afterAll(() => safeFs()!.forceWalk(false));

  it("changes the observed file", async () => {
    const d = temp();
    const f = join(d, "gl.dat");
    writeFileSync(f, "x");
    chmodSync(f, 0o666);
    const r = await apply({ op: "chmod", path: f, mode: 0o640, expect: identity(f) });
    expect(r.status).toBe("applied");
    expect(mode(f)).toBe(0o640);
  });

  it("a path that names another object than the one observed is `changed while being repaired`, and nothing is changed", async () => {
    const d = temp();
    const f = join(d, "gl.dat");
    writeFileSync(f, "x");
    chmodSync(f, 0o666);
    const observed = identity(f);
    // replaced after the observation: same name, another inode
    renameSync(f, join(d, "old.dat"));
    writeFileSync(f, "y");
    chmodSync(f, 0o604);
    const r = await apply({ op: "chmod", path: f, mode: 0o640, expect: observed });
    expect(r).toMatchObject({ status: "failed", detail: `${f} changed while being repaired (it is no longer the file that was observed); nothing was changed` });
    expect(mode(f)).toBe(0o604);
    expect(mode(join(d, "old.dat"))).toBe(0o666);
  });

  it("never follows a link in any component of the path, not only the last", async () => {
    const d = temp();
    const outside = join(d, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "secret"), "s");
    chmodSync(join(outside, "secret"), 0o600);
    mkdirSync(join(d, "tree"));
    symlinkSync(outside, join(d, "tree", "sub"));
    for (const change of [
      { op: "chmod", path: join(d, "tree/sub/secret"), mode: 0o644 },
      { op: "chown", path: join(d, "tree/sub/secret"), uid: 65534 },
      { op: "mkdir", path: join(d, "tree/sub/new") },
    ] as Change[]) {
      const r = await apply(change);
      expect(r.status).toBe("failed");
      expect(r.detail).toContain(`${join(d, "tree/sub")} is a symbolic link, and repairs never follow links`);
    }
    expect(mode(join(outside, "secret"))).toBe(0o600);
    expect(statSync(join(outside, "secret")).uid).toBe(0);
    expect(() => statSync(join(outside, "new"))).toThrow();
  });

  it("a file with more than one hard link is held unless the promise allows it", async () => {
    const d = temp();
    const f = join(d, "gl.dat");
    writeFileSync(f, "x");
    chmodSync(f, 0o666);
    linkSync(f, join(d, "elsewhere.dat"));
    const held = await apply({ op: "chmod", path: f, mode: 0o640, expect: identity(f) });
    expect(held).toMatchObject({ status: "held", detail: expect.stringContaining(`${f} has 2 hard links`) });
    expect(mode(f)).toBe(0o666);
    const allowed = await apply({ op: "chmod", path: f, mode: 0o640, expect: identity(f), allowHardlinks: true });
    expect(allowed.status).toBe("applied");
    expect(mode(f)).toBe(0o640);
  });

  it("mkdir creates each missing component without following links, and sets the exact mode", async () => {
    const d = temp();
    const r = await apply({ op: "mkdir", path: join(d, "a/b/c"), mode: 0o2750 });
    expect(r.status).toBe("applied");
    expect(mode(join(d, "a/b/c"))).toBe(0o2750);
    expect(lstatSync(join(d, "a/b")).isDirectory()).toBe(true);
  });

  it("restore replaces the observed file's content in its own directory, with the promised mode and owner", async () => {
    const d = temp();
    const f = join(d, "postd.conf");
    writeFileSync(f, "tampered\n");
    chmodSync(f, 0o666);
    chownSync(f, 65534, 65534);
    writeFileSync(join(d, "approved.conf"), "approved\n");
    const r = await apply({ op: "restore", path: f, from: join(d, "approved.conf"), expect: identity(f), algorithm: "sha256", mode: 0o640, uid: 0, gid: 42 });
    expect(r.status).toBe("applied");
    expect(readFileSync(f, "utf8")).toBe("approved\n");
    expect([mode(f), statSync(f).uid, statSync(f).gid]).toEqual([0o640, 0, 42]);
  });

  it("restore never keeps the replaced file's owner and mode: without promised ones, the approved copy's", async () => {
    const d = temp();
    const f = join(d, "postd.conf");
    writeFileSync(f, "attacker's own file\n");
    chmodSync(f, 0o644);
    chownSync(f, 65534, 65534);
    const approved = join(d, "approved.conf");
    writeFileSync(approved, "db_password=hunter2\n");
    chmodSync(approved, 0o600);
    const r = await apply({ op: "restore", path: f, from: approved, expect: identity(f), algorithm: "sha256" });
    expect(r.status).toBe("applied");
    expect([mode(f), statSync(f).uid]).toEqual([0o600, 0]);
  });

  it("restore checks the copied content against the approved copy's digest when it was observed", async () => {
    const d = temp();
    const f = join(d, "postd.conf");
    writeFileSync(f, "tampered\n");
    writeFileSync(join(d, "approved.conf"), "approved, then changed\n");
    const observed = "0".repeat(64);
    const r = await apply({ op: "restore", path: f, from: join(d, "approved.conf"), expect: identity(f), algorithm: "sha256", digest: observed });
    expect(r).toMatchObject({ status: "failed", detail: expect.stringContaining("changed since it was observed") });
    expect(readFileSync(f, "utf8")).toBe("tampered\n");
  });

  it("restore works for a file whose name is as long as names can be", async () => {
    const d = temp();
    const f = join(d, "x".repeat(250));
    writeFileSync(f, "tampered\n");
    writeFileSync(join(d, "approved.conf"), "approved\n");
    const r = await apply({ op: "restore", path: f, from: join(d, "approved.conf"), expect: identity(f), algorithm: "sha256" });
    expect(r.status).toBe("applied");
    expect(readFileSync(f, "utf8")).toBe("approved\n");
  });

  it("mkdir gives the owner through the directory it created, and never touches one made meanwhile by someone else", async () => {
    const d = temp();
    const made = await apply({ op: "mkdir", path: join(d, "incoming"), mode: 0o750, uid: 1, gid: 42 });
    expect(made.status).toBe("applied");
    expect([mode(join(d, "incoming")), statSync(join(d, "incoming")).uid, statSync(join(d, "incoming")).gid]).toEqual([0o750, 1, 42]);
    writeFileSync(join(d, "planted"), "attacker's");
    chmodSync(join(d, "planted"), 0o644);
    const r = await apply({ op: "mkdir", path: join(d, "planted"), mode: 0o750, uid: 1 });
    expect(r).toMatchObject({ status: "failed", detail: expect.stringContaining("changed while being repaired (it exists now") });
    expect([mode(join(d, "planted")), statSync(join(d, "planted")).uid]).toEqual([0o644, 0]);
  });

  it("restore refuses an approved copy that is not a regular file, and never blocks on a FIFO", async () => {
    const d = temp();
    const f = join(d, "postd.conf");
    writeFileSync(f, "tampered\n");
    const fifo = join(d, "approved.fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const r = await apply({ op: "restore", path: f, from: fifo, expect: identity(f), algorithm: "sha256" });
    expect(r).toMatchObject({ status: "failed", detail: `the approved copy ${fifo} is not a regular file` });
    expect(readFileSync(f, "utf8")).toBe("tampered\n");
  });

  it("in a sandbox, a path outside it is held, however it is written", async () => {
    const d = temp();
    const sandbox = join(d, "sandbox");
    mkdirSync(join(sandbox, "root"), { recursive: true });
    const victim = join(d, "victim");
    writeFileSync(victim, "v");
    chmodSync(victim, 0o600);
    const gate = new ChangeGate({ dryRun: false, confineTo: sandbox });
    for (const path of [victim, join(sandbox, "root/../../victim")]) {
      const r = await apply({ op: "chmod", path, mode: 0o644 }, gate);
      expect(r.status).toBe("held");
    }
    gate.close();
    expect(mode(victim)).toBe(0o600);
  });

  it("write creates a file of Covenant's own with its mode, or replaces only the one observed there", async () => {
    const d = temp();
    const f = join(d, "99-covenant-vm.swappiness.conf");
    expect(await apply({ op: "write", path: f, content: "vm.swappiness = 10\n", mode: 0o644 })).toMatchObject({ status: "applied", description: `write ${f} (mode 0644, 1 lines)` });
    expect([readFileSync(f, "utf8"), mode(f)]).toEqual(["vm.swappiness = 10\n", 0o644]);
    // a file there now, though none was observed: made by someone else, left alone
    expect(await apply({ op: "write", path: f, content: "x\n", mode: 0o644 })).toMatchObject({ status: "failed", detail: expect.stringContaining("changed while being repaired (it exists now") });
    const observed = identity(f);
    writeFileSync(join(d, "other"), "other\n");
    renameSync(join(d, "other"), f);
    expect(await apply({ op: "write", path: f, content: "x\n", mode: 0o644, expect: observed })).toMatchObject({ status: "failed", detail: expect.stringContaining("changed while being repaired") });
    expect(readFileSync(f, "utf8")).toBe("other\n");
    expect(await apply({ op: "write", path: f, content: "y\n", mode: 0o640, expect: identity(f) })).toMatchObject({ status: "applied" });
    expect([readFileSync(f, "utf8"), mode(f)]).toEqual(["y\n", 0o640]);
  });

  it("write never follows a link: not the target's, nor one in the path", async () => {
    const d = temp();
    const elsewhere = join(d, "elsewhere");
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, "x.conf"), "theirs\n");
    symlinkSync(join(elsewhere, "x.conf"), join(d, "x.conf"));
    expect(await apply({ op: "write", path: join(d, "x.conf"), content: "mine\n", mode: 0o644, expect: identity(join(d, "x.conf")) })).toMatchObject({ status: "failed", detail: expect.stringContaining("is a symbolic link") });
    symlinkSync(elsewhere, join(d, "sysctl.d"));
    expect(await apply({ op: "write", path: join(d, "sysctl.d", "y.conf"), content: "mine\n", mode: 0o644 })).toMatchObject({ status: "failed", detail: expect.stringContaining("is a symbolic link, and repairs never follow links") });
    expect(readFileSync(join(elsewhere, "x.conf"), "utf8")).toBe("theirs\n");
    expect(spawnSync("ls", [elsewhere], { encoding: "utf8" }).stdout.trim()).toBe("x.conf");
  });

  it("write is held outside a sandbox", async () => {
    const d = temp();
    const sandbox = join(d, "sandbox");
    mkdirSync(sandbox);
    const gate = new ChangeGate({ dryRun: false, confineTo: sandbox });
    expect(await apply({ op: "write", path: join(d, "x.conf"), content: "x\n", mode: 0o644 }, gate)).toMatchObject({ status: "held" });
    expect(await apply({ op: "write", path: join(sandbox, "x.conf"), content: "x\n", mode: 0o644 }, gate)).toMatchObject({ status: "applied" });
    gate.close();
  });
});

describe("process changes record what was really done", () => {
  it("a kill whose pid now belongs to another process is skipped, not applied", async () => {
    const child = spawn("sleep", ["30"]);
    await new Promise((r) => child.once("spawn", r));
    const ticks = readStat({ proc: "/proc" }, child.pid!)!.startTicks;
    try {
      const r = await apply({ op: "kill", pid: child.pid!, startTicks: ticks + 1, name: "sleep" });
      expect(r).toMatchObject({ status: "skipped", detail: `pid ${child.pid} now belongs to another process (started later); it was not signalled` });
      expect(readStat({ proc: "/proc" }, child.pid!)).toBeDefined();
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a kill of a process that has already exited is skipped", async () => {
    const child = spawn("true");
    await new Promise((r) => child.once("exit", r));
    const r = await apply({ op: "kill", pid: child.pid!, startTicks: 1, name: "true" });
    expect(r.status).toBe("skipped");
  });
});

describe("a change in progress when the promise's timeout expires", () => {
  it("is in the promise's result (and so in its history), not lost", async () => {
    const name = `covstub${process.pid % 10000}`;
    // a process that ignores SIGTERM, under a name of its own (a script's name is its comm)
    const script = join(temp(), name);
    writeFileSync(script, '#!/bin/bash\ntrap "" TERM\nwhile :; do sleep 0.2; done\n', { mode: 0o755 });
    const child = spawn(script, [], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 300));
    try {
      const r = await evaluateOne(`process "${name}" { max = 0 min = 0 repair = kill timeout = 1s }`, { killGraceMs: 10_000 });
      expect(r).toMatchObject({ outcome: "error", reason: "timed out after 1s" });
      expect(r.changes).toEqual([expect.objectContaining({ status: "failed", detail: "in progress when the promise's timeout expired", description: expect.stringMatching(/^terminate /) })]);
    } finally {
      child.kill("SIGKILL");
      spawnSync("pkill", ["-KILL", "-f", name]);
    }
  });
});

describe("hard links in promises", () => {
  it("max_links is a promise of its own, and perms repairs hold a hard-linked file unless allowed", async () => {
    const d = temp();
    const f = join(d, "gl.dat");
    writeFileSync(f, "x");
    chmodSync(f, 0o666);
    linkSync(f, join(d, "copy.dat"));
    const links = await evaluateOne(`file "${f}" { max_links = 1 }`);
    expect(links).toMatchObject({ outcome: "drift", reason: `${f} has 2 hard links, more than 1` });
    const held = await evaluateOne(`file "${f}" { mode = 0640 repair = perms }`);
    expect(held.outcome).toBe("drift");
    expect(held.reason).toContain("repair held: " + f + " has 2 hard links");
    expect(mode(f)).toBe(0o666);
    const allowed = await evaluateOne(`file "${f}" { mode = 0640 repair = perms allow_hardlinks = true }`);
    expect(allowed.outcome).toBe("repaired");
    expect(mode(f)).toBe(0o640);
  });
});
