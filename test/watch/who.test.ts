// Who attached to the findings (attachWho): by path, to the realtime promises an event touched;
// a deficient one without a finding gets one. BatchWho: the holders scan started as a batch
// arrives without holding the caller, and a result given its holders once the scan is done.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { PromiseResult } from "../../src/evaluator/engine.ts";
import type { FileFinding } from "../../src/evaluator/file-finding.ts";
import { attachWho, BatchWho, type PathWho } from "../../src/watch/who.ts";

const result = (key: string, outcome: PromiseResult["outcome"], findings?: FileFinding[]): PromiseResult => ({ key, control: "C", type: "file", promiser: "/p", outcome, reason: "r", differences: [], changes: [], notes: [], stakeholders: [], file: "p.promise", line: 1, durationMs: 0, ...(findings ? { findings } : {}) });

describe("attachWho", () => {
  const who: PathWho = { holders: [{ pid: 7, via: "open", uid: 0, user: "root", exe: "/usr/bin/vim", commandLine: "vim /srv/a" }], madeBy: { status: "unavailable", reason: "auditd is not running" } };

  it("fills the evaluator's findings by path, and makes one for a deficient promise that has none", () => {
    const withFinding = result("C/file:/srv/a", "drift", [{ path: "/srv/a", changes: [] }, { path: "/srv/other", changes: [] }]);
    const without = result("D/file:/srv/a", "repaired");
    const kept = result("E/file:/srv/a", "kept");
    attachWho([withFinding, without, kept], new Map([["/srv/a", who]]), () => ["C/file:/srv/a", "D/file:/srv/a", "E/file:/srv/a"]);
    expect(withFinding.findings![0]).toMatchObject({ path: "/srv/a", holders: who.holders, madeBy: who.madeBy });
    expect(withFinding.findings![1]).not.toHaveProperty("holders");
    expect(without.findings).toEqual([{ path: "/srv/a", changes: [], holders: who.holders, madeBy: who.madeBy }]);
    expect(kept.findings).toBeUndefined();
  });
});

describe("BatchWho", () => {
  const dir = mkdtempSync(join(tmpdir(), "covenant-batch-who-"));
  // a fixture /proc of 30,000 links: removing it takes a while on a loaded machine
  afterAll(() => rmSync(dir, { recursive: true, force: true }), 60_000);
  const proc = join(dir, "proc");
  const files = [join(dir, "a.dat"), join(dir, "b.dat"), join(dir, "c.dat")];
  for (const f of files) writeFileSync(f, "");
  // a fixture /proc: pid 100+i holds files[i]; 600 more processes with 50 descriptors each on other files, so the scan takes a while
  const others = Array.from({ length: 20 }, (_, i) => join(dir, `other${i}`));
  for (const f of others) writeFileSync(f, "");
  const holding = (pid: number, targets: string[]) => {
    mkdirSync(join(proc, String(pid), "fd"), { recursive: true });
    writeFileSync(join(proc, String(pid), "stat"), `${pid} (app) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0\n`);
    writeFileSync(join(proc, String(pid), "status"), "Name:\tapp\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
    writeFileSync(join(proc, String(pid), "cmdline"), `app\0${pid}\0`);
    targets.forEach((t, fd) => symlinkSync(t, join(proc, String(pid), "fd", String(fd))));
  };
  files.forEach((f, i) => holding(100 + i, [f]));
  for (let p = 1000; p < 1600; p++) holding(p, Array.from({ length: 50 }, (_, d) => others[(p + d) % others.length]!));
  writeFileSync(join(proc, "locks"), "");
  const keyOf = (path: string) => `C/file:${path}`;

  it("seen() returns before the scan is done; each result gets its holders once the scans of its paths are", async () => {
    const who = new BatchWho({ proc, etc: "/etc" }, undefined);
    const started = performance.now();
    who.seen([files[0]!], Date.now());
    who.seen([files[1]!], Date.now()); // arrives while the first scan runs: scanned right after it
    const seenTook = performance.now() - started;
    const taken = who.take();
    expect([...taken.keys()].sort()).toEqual([files[0], files[1]].sort());
    expect(taken.get(files[0]!)!.holders).toEqual([]); // not yet: the scan is under way
    const results = files.slice(0, 2).map((f) => result(keyOf(f), "drift", [{ path: f, changes: [] }]));
    const unrelated = result("D/file:/elsewhere", "drift", [{ path: "/elsewhere", changes: [] }]);
    // a result no scan concerns is annotated at once
    expect(who.attach(unrelated, taken, (p) => [keyOf(p)])).toBeUndefined();
    for (const r of results) await who.attach(r, taken, (p) => [keyOf(p)]);
    expect(results[0]!.findings![0]!.holders).toEqual([expect.objectContaining({ pid: 100, via: "open", commandLine: "app 100" })]);
    expect(results[1]!.findings![0]!.holders).toEqual([expect.objectContaining({ pid: 101, via: "open" })]);
    expect(who.lastScan).toMatchObject({ processes: 603, descriptors: 3 + 600 * 50 });
    // the scans took longer than seen() held its caller
    expect(who.lastScan!.tookMs).toBeGreaterThan(0);
    expect(seenTook).toBeLessThan(Math.max(50, who.lastScan!.tookMs));
  });

  it("a path seen again before the evaluation: one entry, holders of both moments; the paths of later batches are kept for their own evaluation", async () => {
    const who = new BatchWho({ proc, etc: "/etc" }, undefined);
    who.seen([files[2]!], Date.now());
    who.seen([files[2]!, files[0]!], Date.now());
    const first = who.take((p) => p === files[2]);
    expect([...first.keys()]).toEqual([files[2]]);
    const r = result(keyOf(files[2]!), "drift");
    await who.attach(r, first, (p) => [keyOf(p)]);
    expect(r.findings).toEqual([{ path: files[2], changes: [], holders: [expect.objectContaining({ pid: 102 })] }]);
    const rest = who.take();
    const r0 = result(keyOf(files[0]!), "drift");
    await who.attach(r0, rest, (p) => [keyOf(p)]);
    expect(r0.findings![0]!.holders).toEqual([expect.objectContaining({ pid: 100 })]);
  });
});
