// Who is at a file: real processes (perl, started here) holding a file open and locked, found
// through the real /proc by device and inode, with user, executable and masked command line.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { deletedName, holderDetails, lockHolders, lockKey, scanHolders, targetsOf } from "../../src/probes/file-holders.ts";
import { parse, type FileLock } from "../../src/probes/locks.ts";
import { DEFAULT_SECRET_PATTERNS, linearPattern, type SecretPattern } from "../../src/integrity/mask.ts";
import type { ScanEngine } from "../../src/probes/fd-scan.ts";
import { fdScan, fdScanUnavailableReason } from "../../src/native/fd-scan.ts";

const base = mkdtempSync(join(tmpdir(), "covenant-holders-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(base, { recursive: true, force: true });
});

/** perl holding `file` open for appending and locked (flock), its argv carrying a password. */
async function holder(file: string, lock = true): Promise<ChildProcess> {
  const code = `use Fcntl qw(:flock); open(my $f, ">>", $ARGV[1]) or die; ${lock ? "flock($f, LOCK_EX) or die;" : ""} $| = 1; print "ready\\n"; sleep 60`;
  const child = spawn("/usr/bin/perl", ["-e", code, "--", "--password=secret", file], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (c: Buffer) => c.toString().includes("ready") && resolve());
    child.on("exit", (code) => reject(new Error(`perl exited ${code}`)));
  });
  return child;
}

const roots = { proc: "/proc", etc: "/etc" };
const engines: ScanEngine[] = fdScan() ? ["native", "js"] : ["js"];
if (!fdScan()) console.warn(`file-holders: the native scan is not tested: ${fdScanUnavailableReason()}`);

// every behaviour holds for both engines (src/probes/fd-scan.ts): the native scan on the threadpool and the JavaScript fallback
describe.each(engines)("file holders (%s scan)", (engine) => {
  const dir = mkdtempSync(join(base, `${engine}-`));

  it("finds a process holding a file open and locked, with its user, executable and masked command line", async () => {
    const file = join(dir, "ledger.dat");
    writeFileSync(file, "x\n");
    const child = await holder(file);
    const scan = await scanHolders(roots, targetsOf([file]), { engine });
    const held = scan.holders.get(file)!.filter((h) => h.pid === child.pid);
    expect(held.map((h) => h.via).sort()).toEqual(["lock", "open"]);
    for (const h of held) {
      expect(h.uid).toBe(process.geteuid!());
      expect(h.user).toBe(process.geteuid!() === 0 ? "root" : expect.any(String));
      expect(realpathSync(h.exe!)).toBe(realpathSync("/usr/bin/perl"));
      expect(h.commandLine).toContain("--password=****");
      expect(h.commandLine).not.toContain("secret");
      expect(h.commandLine).toContain(file);
    }
    expect(scan.processes).toBeGreaterThan(1);
  });

  it("masks a command line with the policy's own patterns too, when given them", async () => {
    const file = join(dir, "masked-by-policy.dat");
    writeFileSync(file, "x\n");
    const code = `open(my $f, ">>", $ARGV[0]) or die; $| = 1; print "ready\\n"; sleep 60`;
    const child = spawn("/usr/bin/perl", ["-e", code, file, "--ledger-ref", "LGR-0123ABCD"], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    await new Promise<void>((resolve) => child.stdout!.on("data", (c: Buffer) => c.toString().includes("ready") && resolve()));
    const line = async (secretPatterns?: readonly SecretPattern[]) => (await scanHolders(roots, targetsOf([file]), { engine, ...(secretPatterns ? { secretPatterns } : {}) })).holders.get(file)!.find((h) => h.pid === child.pid)!.commandLine;
    expect(await line()).toContain("LGR-0123ABCD");
    const masked = await line([...DEFAULT_SECRET_PATTERNS, linearPattern("LGR-[0-9A-F]{8}")]);
    expect(masked).toContain("--ledger-ref ****");
    expect(masked).not.toContain("0123ABCD");
  });

  it("masks the secrets of a shell script given as one argument: each of its lines, each of its words", async () => {
    const file = join(dir, "script-held.dat");
    writeFileSync(file, "x\n");
    // sh holds the file on descriptor 3 while its script (its argv[2]) waits on its input; the script names secrets as a cron job's would
    const script = 'exec 3<"$0"; echo ready; read x\nexport PGPASSWORD=s3cretA\nmysql -uroot -ps3cretB ledger; curl -u admin:s3cretC https://x/';
    const child = spawn("/bin/sh", ["-c", script, file], { stdio: ["pipe", "pipe", "inherit"] });
    children.push(child);
    await new Promise<void>((resolve) => child.stdout!.on("data", (c: Buffer) => c.toString().includes("ready") && resolve()));
    const h = (await scanHolders(roots, targetsOf([file]), { engine })).holders.get(file)!.find((x) => x.pid === child.pid);
    expect(h?.commandLine).toContain("PGPASSWORD=****");
    expect(h?.commandLine).toContain("-p****");
    expect(h?.commandLine).toContain("admin:****");
    expect(h?.commandLine).not.toMatch(/s3cret/);
  });

  it("does not take a file for another because its link text looks like it (matching is by device and inode)", async () => {
    const real = join(dir, "real.dat");
    const decoy = join(dir, "decoy.dat (deleted)");
    writeFileSync(real, "r\n");
    writeFileSync(decoy, "d\n");
    const child = await holder(decoy, false);
    // the decoy's link text is "<dir>/decoy.dat (deleted)", but it has links: not a deleted decoy.dat
    const scan = await scanHolders(roots, targetsOf([real, join(dir, "decoy.dat")]), { engine });
    expect(scan.holders.get(real)!.some((h) => h.pid === child.pid)).toBe(false);
    expect(scan.holders.get(join(dir, "decoy.dat"))).toEqual([]);
  });

  it("a user in a mount namespace of their own (their directory bound over the file's) cannot pass a file of theirs for the watched one deleted", async (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip();
    const file = join(dir, "watched", "ledger.dat");
    const own = join(dir, "own");
    mkdirSync(join(dir, "watched"));
    mkdirSync(own);
    chmodSync(base, 0o755);
    chmodSync(dir, 0o755);
    chownSync(own, 65534, 65534);
    writeFileSync(file, "l\n");
    // nobody binds their directory over watched/, creates ledger.dat there, opens it and removes it:
    // the kernel then names the descriptor "<dir>/watched/ledger.dat (deleted)", on the same file system
    const script = 'mount --bind "$1" "$2" && exec 3>"$2/ledger.dat" && rm "$2/ledger.dat" && echo ready && read x';
    const child = spawn("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/unshare", "-Urm", "/bin/sh", "-c", script, "sh", own, join(dir, "watched")], { stdio: ["pipe", "pipe", "ignore"] });
    children.push(child);
    const ready = await new Promise<boolean>((resolve) => {
      child.stdout!.on("data", (c: Buffer) => c.toString().includes("ready") && resolve(true));
      child.on("exit", () => resolve(false));
    });
    if (!ready) return ctx.skip(); // user namespaces not allowed here: the attack cannot be made
    const sh = readdirSync("/proc").filter((p) => /^\d+$/.test(p)).find((p) => { try { return readFileSync(`/proc/${p}/cmdline`, "utf8").includes('mount --bind "$1"') && readFileSync(`/proc/${p}/status`, "utf8").includes("\nUid:\t65534"); } catch { return false; } });
    expect(sh).toBeDefined();
    const scan = await scanHolders(roots, targetsOf([file]), { engine });
    expect(scan.holders.get(file)!.some((h) => h.pid === Number(sh))).toBe(false);
  });

  it("finds a process holding the file that was at the path before it was replaced, marked deleted", async () => {
    const file = join(dir, "replaced.dat");
    writeFileSync(file, "old\n");
    const child = await holder(file, false);
    unlinkSync(file);
    writeFileSync(file, "new\n");
    const h = (await scanHolders(roots, targetsOf([file]), { engine })).holders.get(file)!.find((x) => x.pid === child.pid);
    expect(h).toMatchObject({ via: "open", deleted: true });
  });

  it("a path with nothing there, and a symbolic link, have no holders; nothing throws", async () => {
    const link = join(dir, "link");
    symlinkSync("/etc/passwd", link);
    const scan = await scanHolders(roots, targetsOf([join(dir, "missing"), link]), { engine });
    expect(scan.holders.get(join(dir, "missing"))).toEqual([]);
    expect(scan.holders.get(link)).toEqual([]);
  });

  it("processes that end while being scanned are passed over, never an error", async () => {
    const file = join(dir, "busy.dat");
    writeFileSync(file, "");
    const stop = Date.now() + 1500;
    const churn = (async () => {
      while (Date.now() < stop) {
        const c = spawn("/bin/sh", ["-c", `exec 3>>'${file}'; exit 0`], { stdio: "ignore" });
        await new Promise((r) => c.on("exit", r));
      }
    })();
    let scans = 0;
    while (Date.now() < stop) {
      await expect(scanHolders(roots, targetsOf([file]), { engine })).resolves.toBeDefined();
      scans++;
      await new Promise((r) => setImmediate(r));
    }
    await churn;
    expect(scans).toBeGreaterThan(0);
    expect(holderDetails(roots, 2 ** 30, () => undefined)).toBeUndefined();
  });

  it("a fixture /proc: a process whose descriptor points at the file; an unreadable one; the time budget", async () => {
    const proc = mkdtempSync(join(tmpdir(), "covenant-holders-proc-"));
    const file = join(dir, "fixture.dat");
    writeFileSync(file, "");
    for (const pid of [101, 102]) {
      mkdirSync(join(proc, String(pid), "fd"), { recursive: true });
      writeFileSync(join(proc, String(pid), "stat"), `${pid} (app) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0\n`);
      writeFileSync(join(proc, String(pid), "status"), "Name:\tapp\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n");
      writeFileSync(join(proc, String(pid), "cmdline"), "app\0--token\0abc\0");
    }
    symlinkSync(file, join(proc, "101", "fd", "3"));
    symlinkSync("/nonexistent", join(proc, "102", "fd", "4"));
    writeFileSync(join(proc, "locks"), "");
    const scan = await scanHolders({ proc, etc: "/etc" }, targetsOf([file]), { engine });
    expect(scan.holders.get(file)).toEqual([{ pid: 101, via: "open", uid: 1000, ...(scan.holders.get(file)![0]!.user ? { user: scan.holders.get(file)![0]!.user } : {}), commandLine: "app --token ****" }]);
    let t = 0;
    const stopped = await scanHolders({ proc, etc: "/etc" }, targetsOf([file]), { engine, budgetMs: 0, now: () => (t += 10) });
    expect(stopped.notes.join()).toMatch(/stopped after 0 ms: 2 of 2 processes not looked at/);
    rmSync(proc, { recursive: true, force: true });
  });
});

describe("file holders, pure parts", () => {
  it("a deleted name is the text before ' (deleted)' of an absolute path", () => {
    expect(deletedName("/srv/a (deleted)")).toBe("/srv/a");
    expect(deletedName("/srv/a")).toBeUndefined();
    expect(deletedName("socket:[12] (deleted)")).toBeUndefined();
    fc.assert(fc.property(fc.string(), (s) => deletedName(`/${s} (deleted)`) === `/${s}`));
  });

  it("lock holders are matched by device and inode, waiters left out", () => {
    const dev = 0xfe00; // 254:0
    const lock = (pid: number, inode: number, blocked = false): FileLock => ({ id: 1, kind: "flock", blocked, mandatory: false, access: "write", pid, major: 254, minor: 0, inode, start: 0, end: Infinity });
    expect(lockKey(dev, "7")).toBe("254:0:7");
    const m = lockHolders([lock(10, 7), lock(11, 7, true), lock(12, 8), lock(10, 7)], [{ path: "/a", dev, ino: "7" }, { path: "/b" }]);
    expect([...m]).toEqual([["/a", [10]]]);
  });

  it("lock holders are matched by every digit of the inode number: a neighbour's lock above 2^53 is not the file's", () => {
    const dev = 0x2d; // 0:45, an overlay
    const { locks } = parse("1: FLOCK  ADVISORY  WRITE 10 00:2d:9223372036854775809 0 EOF\n2: FLOCK  ADVISORY  WRITE 11 00:2d:9223372036854775810 0 EOF");
    const m = lockHolders(locks, [{ path: "/merged/a", dev, ino: "9223372036854775808" }, { path: "/merged/b", dev, ino: "9223372036854775809" }]);
    expect([...m]).toEqual([["/merged/b", [10]]]);
  });
});
