// The holders scan's engines (src/probes/fd-scan.ts): the native one (native/fd_scan.c, on
// libuv's threadpool) against a real process holding a file open, processes that are gone, the
// time budget, links it must not follow, and the event loop left free while it runs; and the two
// engines giving the same answer on a big fixture /proc.
import type { ChildProcess } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { holding } from "../helpers/holding.ts";
import { fdScan } from "../../src/native/fd-scan.ts";
import { scanDescriptors, type ScanEngine } from "../../src/probes/fd-scan.ts";
import { scanHolders, targetsOf } from "../../src/probes/file-holders.ts";

const dir = mkdtempSync(join(tmpdir(), "covenant-fd-scan-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});
const native = fdScan();
/** the native scan's matches, three numbers each */
const triples = (m: Float64Array) => Array.from({ length: m.length / 3 }, (_, i) => [...m.subarray(i * 3, i * 3 + 3)]);

/** A fixture /proc: `procs` processes, each with `fds` descriptors, links to `files` in turn. */
function bigProc(procs: number, fds: number, files: string[]): string {
  const proc = mkdtempSync(join(dir, "proc-"));
  for (let p = 1; p <= procs; p++) {
    mkdirSync(join(proc, String(p), "fd"), { recursive: true });
    writeFileSync(join(proc, String(p), "stat"), `${p} (app) S 1 ${p} ${p} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0\n`);
    writeFileSync(join(proc, String(p), "status"), "Name:\tapp\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
    writeFileSync(join(proc, String(p), "cmdline"), `app\0${p}\0`);
    for (let d = 0; d < fds; d++) symlinkSync(files[(p * 7 + d) % files.length]!, join(proc, String(p), "fd", String(d)));
  }
  writeFileSync(join(proc, "locks"), "");
  return proc;
}

const files = Array.from({ length: 50 }, (_, i) => join(dir, `f${i}`));
for (const f of files) writeFileSync(f, "");

describe.skipIf(!native)("the native holders scan", () => {
  it("finds a real process holding a file open, its details read through its own /proc directory", async () => {
    const file = join(dir, "held.log");
    writeFileSync(file, "");
    const child = await holding(file, children);
    const st = lstatSync(file);
    const r = await native!.scan("/proc", [{ path: file, dev: st.dev, ino: String(st.ino) }, { path: join(dir, "nothing") }], -1, 1);
    expect(triples(r.matches)).toContainEqual([child.pid, 0, 0]);
    const h = r.holders.find((x) => x.pid === child.pid)!;
    expect(h.stat).toMatch(new RegExp(`^${child.pid} \\(sleep\\) `));
    expect(h.statAfter?.split(" ")[21]).toBe(h.stat!.split(" ")[21]); // the start time, before and after
    expect(h.cmdline).toBe("sleep\u000060\u0000");
    expect(realpathSync(h.exe!)).toBe(realpathSync("/usr/bin/sleep"));
    expect(r.processes).toBe(r.listed);
    expect(r.stopped).toBe(false);
    const scan = await scanHolders({ proc: "/proc", etc: "/etc" }, targetsOf([file]), { engine: "native" });
    expect(scan.engine).toBe("native");
    expect(scan.holders.get(file)).toContainEqual(expect.objectContaining({ pid: child.pid, via: "open", uid: process.geteuid!(), commandLine: "sleep 60" }));
  });

  it("a process that has ended is not a holder; a fixture process gone between its descriptors and its details is passed over, not refused", async () => {
    const file = join(dir, "ended.log");
    writeFileSync(file, "");
    const child = await holding(file, children);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const scan = await scanHolders({ proc: "/proc", etc: "/etc" }, targetsOf([file]), { engine: "native" });
    expect(scan.holders.get(file)!.some((h) => h.pid === child.pid)).toBe(false);
    // fixture: 301 holds the file but has no stat left (ended after its descriptors were read); 302 has no fd directory (ended before)
    const proc = bigProc(0, 0, files);
    mkdirSync(join(proc, "301", "fd"), { recursive: true });
    symlinkSync(file, join(proc, "301", "fd", "1"));
    mkdirSync(join(proc, "302"));
    const fixture = await scanHolders({ proc, etc: "/etc" }, targetsOf([file]), { engine: "native" });
    expect(fixture.holders.get(file)).toEqual([]);
    expect(fixture.notes).toEqual([]);
    expect(fixture.processes).toBe(2);
  });

  it("stops at its budget and says how many processes it did not look at", async () => {
    const proc = bigProc(300, 40, files);
    const none = await scanHolders({ proc, etc: "/etc" }, targetsOf(files.slice(0, 3)), { engine: "native", budgetMs: 0 });
    expect(none.notes.join()).toMatch(/descriptor scan stopped after 0 ms: 300 of 300 processes not looked at/);
    expect(none.processes).toBe(0);
    const some = await native!.scan(proc, targetsOf(files.slice(0, 3)), 1, 1);
    expect(some.stopped).toBe(true);
    expect(some.processes).toBeGreaterThan(0);
    expect(some.processes).toBeLessThan(300);
    const all = await native!.scan(proc, targetsOf(files.slice(0, 3)), -1, 1);
    expect(all).toMatchObject({ stopped: false, processes: 300, listed: 300, descriptors: 300 * 40 });
    const threaded = await native!.scan(proc, targetsOf(files.slice(0, 3)), 0, 3);
    expect(threaded).toMatchObject({ stopped: true, processes: 0, listed: 300 });
  });

  it("several threads find what one finds, in the same order", async () => {
    const proc = bigProc(200, 30, files);
    const targets = targetsOf(files.slice(0, 4));
    const one = await native!.scan(proc, targets, -1, 1);
    for (const threads of [2, 4, 16]) expect(await native!.scan(proc, targets, -1, threads)).toEqual(one);
    expect(one.matches.length / 3).toBeGreaterThan(100);
    expect(() => native!.scan(proc, targets, -1, 0)).toThrow(TypeError);
  });

  it("takes a target's inode number as its exact decimal text, and refuses anything else", async () => {
    const proc = bigProc(0, 0, files);
    const path = "/x";
    const refused = [{ path, dev: 1, ino: 7 }, { path, dev: 1 }, { path, ino: "7" }, { path, dev: 1, ino: "007" }, { path, dev: 1, ino: "" }, { path, dev: 1, ino: " 7" }, { path, dev: 1, ino: "0x10" }, { path, dev: 1, ino: "18446744073709551616" }, { path, dev: 1, ino: "123456789012345678901234" }];
    for (const t of refused) expect(() => native!.scan(proc, [t as never], -1, 1), JSON.stringify(t)).toThrow(/ino\?: string \(the inode number in decimal/);
    for (const ino of ["0", "7", "9223372036854775809", "18446744073709551615"]) await expect(native!.scan(proc, [{ path, dev: 1, ino }], -1, 1)).resolves.toMatchObject({ listError: 0 });
    // the JavaScript engine refuses the same, and says so
    const notes: string[] = [];
    expect(await scanDescriptors({ proc }, [{ path, dev: 1, ino: "007" }], { engine: "js" }, notes)).toMatchObject({ matches: [], processes: 0 });
    expect(notes.join()).toMatch(/the descriptor scan failed/);
  });
});

describe("both engines", () => {
  const engines: ScanEngine[] = native ? ["native", "js"] : ["js"];

  it.each(engines)("%s: follows no link but a descriptor's own: a pid directory or fd directory that is a link is not entered", async (engine) => {
    const file = join(dir, `linked-${engine}.log`);
    writeFileSync(file, "");
    const elsewhere = join(dir, `elsewhere-${engine}`);
    mkdirSync(join(elsewhere, "fd"), { recursive: true });
    symlinkSync(file, join(elsewhere, "fd", "3"));
    const proc = bigProc(0, 0, files);
    symlinkSync(elsewhere, join(proc, "401")); // a pid directory that is a link
    mkdirSync(join(proc, "402"));
    symlinkSync(join(elsewhere, "fd"), join(proc, "402", "fd")); // an fd directory that is a link
    const notes: string[] = [];
    const r = await scanDescriptors({ proc }, targetsOf([file]), { engine }, notes);
    expect(r).toMatchObject({ engine, matches: [], processes: 2, descriptors: 0 });
    expect(notes).toEqual([]);
  });

  it.each(engines)("%s: the event loop turns while a big /proc is scanned", async (engine) => {
    const proc = bigProc(500, 60, files);
    let ticks = 0;
    let longest = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      ticks++;
    }, 1);
    const started = performance.now();
    const notes: string[] = [];
    const scan = await scanDescriptors({ proc }, targetsOf(files.slice(0, 2)), { engine }, notes);
    const took = performance.now() - started;
    clearInterval(timer);
    expect(scan).toMatchObject({ engine, processes: 500, descriptors: 30_000 });
    // the timer fired while the scan ran: the loop was never held for the whole scan
    if (took > 30) {
      expect(ticks).toBeGreaterThan(2);
      expect(longest).toBeLessThan(took / 2);
    }
  });

  it.skipIf(!native)("the native and the JavaScript scans find the same holders in a fixture /proc", async () => {
    const proc = bigProc(120, 30, files);
    const targets = targetsOf([...files.slice(0, 5), join(dir, "missing")]);
    const [a, b] = await Promise.all([scanHolders({ proc, etc: "/etc" }, targets, { engine: "native" }), scanHolders({ proc, etc: "/etc" }, targets, { engine: "js" })]);
    const sorted = (m: Map<string, { pid: number }[]>) => [...m].map(([p, hs]) => [p, [...hs].sort((x, y) => x.pid - y.pid)]);
    expect(sorted(a.holders)).toEqual(sorted(b.holders));
    expect(a.holders.get(files[0]!)!.length).toBeGreaterThan(0);
    expect([a.processes, a.descriptors]).toEqual([b.processes, b.descriptors]);
  });
});
