// The focused evaluation of a directory promise (src/evaluator/tree-focus.ts), against the whole
// one, differentially: random sequences of changes made to a real tree, the paths real inotify
// names for them (the watcher's own event source, src/watch/events.ts), and after each change the
// focused evaluation (only what events named, and what was wrong last time) must say exactly what
// a whole walk of the tree says: the outcome, every difference, every finding.
import fc from "fast-check";
import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkPaths } from "../../src/checker/check.ts";
import type { Policy } from "../../src/checker/policy.ts";
import { evaluate, promiseKeys, type PromiseResult } from "../../src/evaluator/engine.ts";
import { EvaluationMemory } from "../../src/evaluator/evaluation-memory.ts";
import { MemoryIntegrity } from "../../src/evaluator/memory-integrity.ts";
import { focusPlan, levelBelow, sameRoots, walkOrder } from "../../src/evaluator/tree-focus.ts";
import { readFacts } from "../../src/facts/host.ts";
import { MemoryBaselines, MemorySamples } from "../../src/store/memory.ts";
import { watchEvents } from "../../src/watch/events.ts";
import { watchSet, watchTargets } from "../../src/watch/watch-set.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

type Op =
  | { kind: "write"; at: number; name: number; text: string }
  | { kind: "chmod"; at: number; mode: number }
  | { kind: "remove"; at: number }
  | { kind: "mkdir"; at: number; name: number; files: number }
  | { kind: "rename"; at: number; to: number; name: number }
  | { kind: "symlink"; at: number; name: number }
  | { kind: "link"; at: number; name: number }
  | { kind: "touch"; at: number }
  | { kind: "replace"; at: number; by: "symlink" | "file" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("write" as const), at: fc.nat(), name: fc.nat(5), text: fc.constantFrom("a\n", "balance = 1\n", "") }),
  fc.record({ kind: fc.constant("chmod" as const), at: fc.nat(), mode: fc.constantFrom(0o644, 0o600, 0o666, 0o755, 0o777) }),
  fc.record({ kind: fc.constant("remove" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("mkdir" as const), at: fc.nat(), name: fc.nat(5), files: fc.nat(3) }),
  fc.record({ kind: fc.constant("rename" as const), at: fc.nat(), to: fc.nat(), name: fc.nat(5) }),
  fc.record({ kind: fc.constant("symlink" as const), at: fc.nat(), name: fc.nat(5) }),
  fc.record({ kind: fc.constant("link" as const), at: fc.nat(), name: fc.nat(5) }),
  fc.record({ kind: fc.constant("touch" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), by: fc.constantFrom("symlink" as const, "file" as const) }),
);

/** Every entry below `root` (not following links), in walk order. */
function entries(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      out.push(p);
      if (lstatSync(p).isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

/** The directories of the tree, the root first. */
function directories(root: string): string[] {
  return [root, ...entries(root).filter((p) => lstatSync(p).isDirectory())];
}

const pick = <T,>(list: T[], i: number): T | undefined => (list.length === 0 ? undefined : list[i % list.length]);

/** Applies one change; a change that makes no sense on the tree now (nothing to remove) is none. */
function apply(root: string, op: Op): void {
  const all = entries(root);
  const dirsNow = directories(root);
  try {
    switch (op.kind) {
      case "write":
        writeFileSync(join(pick(dirsNow, op.at)!, `f${op.name}`), op.text);
        return;
      case "chmod": {
        const p = pick(all, op.at);
        if (p && !lstatSync(p).isSymbolicLink()) chmodSync(p, op.mode);
        return;
      }
      case "remove": {
        const p = pick(all, op.at);
        if (p) rmSync(p, { recursive: true, force: true });
        return;
      }
      case "mkdir": {
        const d = join(pick(dirsNow, op.at)!, `d${op.name}`);
        mkdirSync(d, { recursive: true });
        for (let i = 0; i < op.files; i++) writeFileSync(join(d, `n${i}`), `${i}\n`);
        return;
      }
      case "rename": {
        const p = pick(all, op.at);
        const into = pick(dirsNow, op.to)!;
        if (p && !into.startsWith(`${p}/`) && into !== p) renameSync(p, join(into, `r${op.name}`));
        return;
      }
      case "symlink":
        symlinkSync(pick(all, op.at) ?? "/etc/hostname", join(pick(dirsNow, op.at)!, `l${op.name}`));
        return;
      case "link": {
        const p = pick(all.filter((x) => lstatSync(x).isFile()), op.at);
        if (p) linkSync(p, join(pick(dirsNow, op.name)!, `h${op.name}`));
        return;
      }
      case "touch": {
        const p = pick(all, op.at);
        const later = new Date(Date.now() + 60_000 + op.at);
        if (p && !lstatSync(p).isSymbolicLink()) utimesSync(p, later, later);
        return;
      }
      case "replace": {
        // a directory renamed out of the tree and something else put at its name (a link to it, or a file)
        const d = pick(dirsNow.slice(1), op.at);
        if (!d) return;
        const away = mkdtempSync(join(dirname(root), "away-"));
        renameSync(d, join(away, "d"));
        if (op.by === "symlink") symlinkSync(join(away, "d"), d);
        else writeFileSync(d, "not a directory\n");
        return;
      }
    }
  } catch (err) {
    // a name already taken (EEXIST, ENOTEMPTY...): no change, as a user's failed command makes none
    if (!["EEXIST", "ENOTEMPTY", "EISDIR", "ENOTDIR"].includes((err as NodeJS.ErrnoException).code ?? "")) throw err;
  }
}

const canonical = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (x !== null && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));

/** What a result says, in an order that does not depend on how it was come to. */
function said(r: PromiseResult) {
  return {
    outcome: r.outcome,
    differences: r.differences.map((d) => `${d.subject ?? ""}|${d.attribute}|${d.expected}|${d.observed}|${d.significant ?? ""}|${d.reason}`).sort(),
    findings: (r.findings ?? []).map((f) => `${f.path}: ${f.changes.map((c) => canonical(c)).join(" ")}`).sort(),
  };
}

function tree(): { root: string; policy: Policy; key: string } {
  const base = mkdtempSync(join(tmpdir(), "covenant-focus-"));
  dirs.push(base);
  const root = join(base, "tree");
  mkdirSync(join(root, "a", "b"), { recursive: true });
  mkdirSync(join(root, "c"));
  for (const d of ["", "a", "a/b", "c"]) for (const f of ["x", "y"]) writeFileSync(join(root, d, f), `${d}/${f}\n`);
  const file = join(base, "p.promise");
  writeFileSync(file, `control "SOX-1" {\n  title = "tree"\n  directory "${root}" {\n    recurse = true\n    max_depth = 4\n    max_mode = 0755\n    integrity = sha256\n    watch = realtime\n  }\n}\n`);
  const checked = checkPaths([file]);
  if (!checked.policy) throw new Error(checked.diagnostics.map((d) => d.message).join("\n"));
  return { root, policy: checked.policy, key: promiseKeys(checked.policy)[0]!.key };
}

describe("focused evaluation of a directory promise", () => {
  it("after any sequence of changes, says exactly what a whole walk says (real inotify names the paths)", async () => {
    let focusedRuns = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 7 }), async (ops) => {
        const t = tree();
        const integrity = new MemoryIntegrity();
        const memory = new EvaluationMemory();
        const facts = readFacts({ now: new Date() });
        const run = async (focus?: readonly string[], withMemory = true) => {
          const now = new Date();
          const e = await evaluate(t.policy, { roots: { proc: "/proc", etc: "/etc" }, dryRun: false, facts, now, baselines: new MemoryBaselines(), samples: new MemorySamples(), integrity, ...(withMemory ? { memory } : {}), ...(focus ? { focus: new Map([[t.key, focus]]) } : {}) });
          return e.results[0]!;
        };
        const named = new Set<string>();
        let lastBatch = Date.now();
        const events = watchEvents(watchSet(watchTargets(t.policy)), {
          coalesceMs: 5,
          onBatch: (b) => {
            for (const p of b.paths) named.add(p);
            lastBatch = Date.now();
          },
          onProblem: (p) => {
            throw new Error(p.message);
          },
        });
        try {
          await events.ready;
          await run(); // the first walk: everything approved as first seen, and remembered
          for (const op of ops) {
            apply(t.root, op);
            // the events of the change, all of them: quiet for 100 ms
            lastBatch = Date.now();
            while (Date.now() - lastBatch < 100) await new Promise((r) => setTimeout(r, 20));
            const focused = await run([...named]);
            named.clear();
            if (focused.notes.some((n) => /looked at again/.test(n))) focusedRuns++;
            const whole = await run(undefined, false);
            expect({ op, ...said(focused) }).toEqual({ op, ...said(whole) });
          }
        } finally {
          await events.close();
          rmSync(t.root, { recursive: true, force: true });
        }
      }),
      { numRuns: Number(process.env.FOCUS_RUNS ?? 12) },
    );
    // the property held of focused evaluations, not of whole walks it fell back to
    expect(focusedRuns).toBeGreaterThan(20);
  }, 120_000);

  it("an evaluation that errs is forgotten: the next one is a whole walk", async () => {
    const t = tree();
    const integrity = new MemoryIntegrity();
    const memory = new EvaluationMemory();
    const facts = readFacts({ now: new Date() });
    const run = (focus?: readonly string[], deadline?: number) => evaluate(t.policy, { roots: { proc: "/proc", etc: "/etc" }, dryRun: false, facts, now: new Date(), baselines: new MemoryBaselines(), samples: new MemorySamples(), integrity, memory, ...(focus ? { focus: new Map([[t.key, focus]]) } : {}), ...(deadline !== undefined ? { deadline } : {}) });
    await run();
    expect(memory.of(t.key).last).toBeDefined();
    const x = join(t.root, "a", "x");
    writeFileSync(x, "changed\n");
    expect((await run([x])).results[0]!.notes.join("\n")).toMatch(/looked at again/);
    // not evaluated (the run's deadline is past): error, and what was kept is forgotten
    const failed = (await run([x], Date.now() - 1)).results[0]!;
    expect(failed.outcome).toBe("error");
    expect(memory.of(t.key).last).toBeUndefined();
    // so the next evaluation, though asked for by events, walks the tree whole
    const again = (await run([x])).results[0]!;
    expect(again.notes.join("\n")).not.toMatch(/looked at again/);
    expect(memory.of(t.key).last).toBeDefined();
  });

  it("an entry whose name is not UTF-8 is a difference of its own, in whole and focused evaluations, and the rest is judged", async () => {
    const t = tree();
    const integrity = new MemoryIntegrity();
    const memory = new EvaluationMemory();
    const facts = readFacts({ now: new Date() });
    const run = (focus?: readonly string[]) => evaluate(t.policy, { roots: { proc: "/proc", etc: "/etc" }, dryRun: false, facts, now: new Date(), baselines: new MemoryBaselines(), samples: new MemorySamples(), integrity, memory, ...(focus ? { focus: new Map([[t.key, focus]]) } : {}) });
    await run();
    const odd = Buffer.concat([Buffer.from(`${t.root}/a/`), Buffer.from([0xff, 0xfe])]);
    writeFileSync(odd, "");
    const decoded = `${t.root}/a/\uFFFD\uFFFD`;
    const named = (await run([decoded])).results[0]!;
    expect(named.outcome).toBe("drift");
    expect(named.notes.join("\n")).toMatch(/looked at again/);
    expect(named.differences.map((d) => d.attribute)).toContain("name");
    expect(named.differences.find((d) => d.attribute === "name")!.reason).toMatch(/"\\ufffd\\ufffd": its name is not valid UTF-8/i);
    // a later change elsewhere in the tree is still judged, and the odd name still said
    const x = join(t.root, "c", "x");
    writeFileSync(x, "changed\n");
    const later = (await run([x])).results[0]!;
    expect(later.differences.map((d) => `${d.attribute} ${d.subject}`)).toEqual(expect.arrayContaining([`integrity ${x}`, expect.stringMatching(/^name /)]));
    // as a whole walk says it
    const whole = (await evaluate(t.policy, { roots: { proc: "/proc", etc: "/etc" }, dryRun: false, facts, now: new Date(), baselines: new MemoryBaselines(), samples: new MemorySamples(), integrity })).results[0]!;
    expect(whole.differences.map((d) => d.reason).sort()).toEqual(later.differences.map((d) => d.reason).sort());
    // removed: no longer said
    rmSync(odd);
    expect((await run([decoded])).results[0]!.differences.map((d) => d.attribute)).not.toContain("name");
  });
});

describe("the focus plan", () => {
  const memo = { roots: [], dirty: new Set(["/t/a/old"]), linked: new Set(["/t/c/shared"]), notes: [], walkedAt: "" };
  it("looks at what events named, their directories and what was wrong; a root named, or too much, is a whole walk", () => {
    const plan = focusPlan(["/t/a/b/x", "/elsewhere/y", "/t/a/b/c/d/e/f"], ["/t"], 4, memo)!;
    expect([...plan.look].sort(walkOrder)).toEqual(["/t/a/b", "/t/a/b/x", "/t/a/old", "/t/c/shared"]);
    expect([...plan.named]).toEqual(["/t/a/b/x"]);
    expect(focusPlan(["/t"], ["/t"], 4, memo)).toBeUndefined();
    expect(focusPlan(Array.from({ length: 3000 }, (_, i) => `/t/f${i}`), ["/t"], 4, memo)).toBeUndefined();
  });

  it("takes a root for the one walked only when it is the very directory: inode numbers above 2^53 compared by every digit", () => {
    // overlayfs xino: a lower layer's directories are numbered from 2^63 up, neighbours one double apart of nothing
    const root = (ino: string) => ({ hostPath: "/t", dev: 41, ino });
    expect(Number("9223372036854775810")).toBe(Number("9223372036854775811"));
    expect(sameRoots([root("9223372036854775810")], [root("9223372036854775811")])).toBe(false);
    expect(sameRoots([root("9223372036854775810")], [root("9223372036854775810")])).toBe(true);
    expect(sameRoots([root("12")], [{ ...root("12"), dev: 42 }])).toBe(false);
  });

  it("levels and walk order", () => {
    expect(levelBelow("/t", "/t/a")).toBe(1);
    expect(levelBelow("/t", "/t/a/b")).toBe(2);
    expect(levelBelow("/t", "/t")).toBeUndefined();
    expect(levelBelow("/t", "/tt/a")).toBeUndefined();
    expect(levelBelow("/", "/a")).toBe(1);
    expect(["/t/a.b", "/t/a/c", "/t/a"].sort(walkOrder)).toEqual(["/t/a", "/t/a/c", "/t/a.b"]);
  });
});
