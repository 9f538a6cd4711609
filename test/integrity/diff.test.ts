import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { diffHunks, formatUnified, splitLines, unifiedDiff, type Hunk } from "../../src/integrity/diff.ts";

const dir = mkdtempSync(join(tmpdir(), "covenant-diff-"));

/** GNU diff on the two texts, run with an argv (no shell): its unified diff, labels a and b. */
function gnuDiff(a: string, b: string, extra: string[] = []): string {
  const [fa, fb] = [join(dir, "old"), join(dir, "new")];
  writeFileSync(fa, a);
  writeFileSync(fb, b);
  // -U n alone: after -u, GNU diff keeps the larger of the two contexts
  const format = extra.some((e) => e.startsWith("-U")) ? [] : ["-u"];
  const r = spawnSync("diff", [...format, ...extra, "--label", "a", "--label", "b", fa, fb], { encoding: "utf8" });
  if (r.status !== 0 && r.status !== 1) throw new Error(`diff: ${r.stderr}`);
  return r.stdout;
}

function ours(a: string, b: string): string {
  const hunks = diffHunks(splitLines(a), splitLines(b));
  return hunks.length === 0 ? "" : formatUnified(hunks, "a", "b");
}

/** Applies a unified diff to `old`, checking every context and deleted line: a small `patch`. */
function applyPatch(old: string, patch: string): string {
  const a = splitLines(old);
  const lines = splitLines(patch);
  const out: string[] = [];
  let at = 0;
  let k = 2;
  const noNewline = (line: string) => lines[k]?.startsWith("\\ ") === true && (k++, line.slice(0, -1));
  while (k < lines.length) {
    const h = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@\n$/.exec(lines[k++]!);
    if (!h) throw new Error(`not a hunk header: ${lines[k - 1]}`);
    const [oldCount, newCount] = [h[2] === undefined ? 1 : Number(h[2]), h[4] === undefined ? 1 : Number(h[4])];
    const start = oldCount === 0 ? Number(h[1]) : Number(h[1]) - 1;
    expect(start).toBeGreaterThanOrEqual(at);
    out.push(...a.slice(at, start));
    at = start;
    let [seenOld, seenNew] = [0, 0];
    while (k < lines.length && !lines[k]!.startsWith("@@")) {
      const raw = lines[k++]!;
      const line = noNewline(raw.slice(1)) || raw.slice(1);
      if (raw[0] !== "+") {
        expect(a[at], `line ${at + 1}`).toBe(line);
        at++;
        seenOld++;
      }
      if (raw[0] !== "-") {
        out.push(line);
        seenNew++;
      }
    }
    expect([seenOld, seenNew]).toEqual([oldCount, newCount]);
  }
  return out.join("") + a.slice(at).join("");
}

// texts as configuration files are: lines drawn from a few, some repeated, some without a final newline
const lineArb = fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h", "", "  x = 1", "[section]", "\tindented");
const textArb = fc.tuple(fc.array(lineArb, { maxLength: 40 }), fc.boolean()).map(([ls, nl]) => ls.map((l) => `${l}\n`).join("").slice(0, nl || ls.length === 0 ? undefined : -1));
/** a new text made from the old by local edits, as files are changed, or an unrelated one */
const pairArb = fc.oneof(
  fc.tuple(textArb, textArb),
  fc.tuple(textArb, fc.array(fc.tuple(fc.nat(), fc.constantFrom("delete", "insert", "replace"), lineArb), { maxLength: 6 }), fc.boolean()).map(([a, edits, nl]) => {
    const ls = splitLines(a).map((l) => (l.endsWith("\n") ? l : `${l}\n`));
    for (const [at, op, line] of edits) {
      const i = ls.length === 0 ? 0 : at % ls.length;
      if (op === "delete") ls.splice(i, 1);
      if (op === "insert") ls.splice(i, 0, `${line}\n`);
      if (op === "replace") ls.splice(i, 1, `${line}\n`);
    }
    const b = ls.join("");
    return [a, nl || b === "" ? b : b.slice(0, -1)] as [string, string];
  }),
);

const changed = (patch: string) => splitLines(patch).filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) [ab]\n$/.test(l)).length;

describe("unified diff against GNU diff", () => {
  it("turns the old text into the new when applied, with as few changed lines as `diff --minimal`", () => {
    fc.assert(
      fc.property(pairArb, ([a, b]) => {
        const patch = ours(a, b);
        expect(applyPatch(a, patch || "--- a\n+++ b\n")).toBe(b);
        expect(patch === "").toBe(a === b);
        expect(changed(patch)).toBe(changed(gnuDiff(a, b, ["--minimal"])));
      }),
      { numRuns: 300 },
    );
  });

  it("writes what `diff -u` writes, hunk for hunk (a fixed sample)", () => {
    // Among equally short scripts GNU diff sometimes picks another (about 1 pair of random
    // texts in 1,000; never a longer script): the sample is fixed so that the test says when the
    // choice or the hunks' layout moves away from diff's, not when the dice fall badly.
    fc.assert(
      fc.property(pairArb, ([a, b]) => {
        expect(ours(a, b)).toBe(gnuDiff(a, b));
      }),
      { numRuns: 400, seed: 20261205 },
    );
  });

  it("writes what `diff -u` writes for the usual edits of a configuration file", () => {
    const conf = Array.from({ length: 30 }, (_, i) => `option_${i} = ${i}\n`).join("");
    const edits: string[] = [
      conf.replace("option_5 = 5\n", "option_5 = 50\n"),
      conf.replace("option_5 = 5\n", "option_5 = 50\n").replace("option_12 = 12\n", ""),
      conf.replace("option_5 = 5\n", "option_5 = 50\n").replace("option_13 = 13\n", ""),
      conf.replace("option_0 = 0\n", ""),
      `${conf}option_30 = 30\n`,
      conf.slice(0, -1),
      `# header\n${conf}`,
      "",
    ];
    for (const b of edits) expect(ours(conf, b)).toBe(gnuDiff(conf, b));
    expect(ours("", "x")).toBe(gnuDiff("", "x"));
    expect(ours("x", "x\n")).toBe(gnuDiff("x", "x\n"));
  });
});

describe("unifiedDiff", () => {
  it("says the texts are the same, or counts the lines added and removed", () => {
    expect(unifiedDiff("a\n", "a\n")).toEqual({ kind: "same" });
    expect(unifiedDiff(Buffer.from("a\nb\n"), Buffer.from("a\nc\nd\n"), { oldLabel: "/etc/x (approved)", newLabel: "/etc/x" })).toEqual({
      kind: "diff",
      text: "--- /etc/x (approved)\n+++ /etc/x\n@@ -1,2 +1,3 @@\n a\n-b\n+c\n+d\n",
      added: 2,
      removed: 1,
      maskedLines: 0,
    });
  });

  it("makes no diff of content that is large, long, has a very long line, or is not UTF-8 text", () => {
    const big = "x\n".repeat(40 * 1024);
    expect(unifiedDiff(big, "x\n")).toEqual({ kind: "none", reason: "the old content is 80.0 KiB, more than the 64.0 KiB a diff is made of" });
    expect(unifiedDiff("x\n", "y\n".repeat(2001))).toEqual({ kind: "none", reason: "the new content has 2001 lines, more than the 2000 a diff is made of" });
    expect(unifiedDiff("x\n", "y\n", { maxLines: 1 })).toMatchObject({ kind: "diff" });
    expect(unifiedDiff("a\n" + "z".repeat(5000) + "\n", "b\n")).toEqual({ kind: "none", reason: "line 2 of the old content is longer than the 4096 characters a diff shows" });
    expect(unifiedDiff(Buffer.from("a\0b\n"), Buffer.from("a\n"))).toEqual({ kind: "none", reason: "the old content is binary (a NUL byte)" });
    expect(unifiedDiff(Buffer.from("a\n"), Buffer.from([0x61, 0xff, 0x0a]))).toEqual({ kind: "none", reason: "the new content is not UTF-8 text" });
    expect(unifiedDiff(Buffer.from("é\n"), Buffer.from("è\n"))).toMatchObject({ kind: "diff", text: "--- a\n+++ b\n@@ -1 +1 @@\n-é\n+è\n" });
  });

  it("escapes control characters in what it shows (tabs kept), never in what it compares", () => {
    const r = unifiedDiff("a\tb\r\n", "a\tb\u001b[31m\r\n", { oldLabel: "x\ny" });
    expect(r).toMatchObject({ kind: "diff", text: "--- x\\ny\n+++ b\n@@ -1 +1 @@\n-a\tb\\r\n+a\tb\\x1b[31m\\r\n" });
  });

  it("keeps every hunk's header in agreement with its lines", () => {
    fc.assert(
      fc.property(pairArb, fc.nat(5), ([a, b], context) => {
        for (const h of diffHunks(splitLines(a), splitLines(b), context) as Hunk[]) {
          const body = h.lines.filter((l) => !l.startsWith("\\"));
          expect(body.filter((l) => l[0] !== "+").length).toBe(h.oldLines);
          expect(body.filter((l) => l[0] !== "-").length).toBe(h.newLines);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("groups changes as `diff -U n` does, for any context (a fixed sample)", () => {
    fc.assert(
      fc.property(pairArb, fc.nat(4), ([a, b], context) => {
        const h = diffHunks(splitLines(a), splitLines(b), context);
        expect(h.length === 0 ? "" : formatUnified(h, "a", "b")).toBe(gnuDiff(a, b, [`-U${context}`]));
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
