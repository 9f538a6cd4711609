// Input that once made `covenant check` and `fmt` exit 3 (internal error), hang or print without
// end: every one is a policy error now (exit 2), reported where the input crosses a bound.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

const dirs: string[] = [];
function policyFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "covenant-bounds-"));
  dirs.push(dir);
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

beforeAll(() => ensureBuilt());
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A control that uses `when` (a context) or `owner` (a variable), so that the names are followed. */
function controlUsing(opts: { when?: string; fileOwner?: string }): string {
  const when = opts.when ? `  when = ${opts.when}\n` : "";
  const owner = opts.fileOwner ? ` owner = ${opts.fileOwner}` : "";
  return `stakeholder ops\ncontrol "AC-1" {\n  title = "t"\n  owner = ops\n${when}  file "/etc/passwd" { mode = 0644${owner} }\n}\n`;
}

/** `context c<n> = c<n-1> and hour < 20`, from c<count> down to c1, as each is written before the one it uses. */
function contextChain(count: number, newestFirst: boolean): string {
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) lines.push(`context c${i} = ${i === 1 ? "hour > 1" : `c${i - 1}`} and hour < 20`);
  if (newestFirst) lines.reverse();
  return `${lines.join("\n")}\n`;
}

/** `let a<n> = "${a<n-1>}${a<n-1>}"`: a<n> holds 2^n characters. */
function doublingStrings(levels: number): string {
  let text = 'let a0 = "x"\n';
  for (let i = 1; i <= levels; i++) text += `let a${i} = "\${a${i - 1}}\${a${i - 1}}"\n`;
  return text;
}

function lineOf(text: string, needle: string): number {
  return text.slice(0, text.indexOf(needle)).split("\n").length;
}

describe("check stays within bounds on any input", () => {
  it("a chain of 5,000 contexts is E123 where it gets too deep, in either order (it overflowed the stack)", () => {
    for (const newestFirst of [true, false]) {
      const text = contextChain(5000, newestFirst) + controlUsing({ when: "c5000" });
      const r = covenant(["check", policyFile("chain.promise", text)]);
      expect(r.code).toBe(2);
      expect(r.err).toBe("");
      // each link adds two levels (`and`, then the name): c128 is the first past 256
      expect(r.out).toContain(`chain.promise:${lineOf(text, "context c128 =")}:16: error E123: context \`c128\` is defined through more than 256 levels`);
      expect(r.out.match(/error E123/g)).toHaveLength(1);
      // the names it uses are used: no warning that they are not
      expect(r.out).not.toContain("W204");
    }
  });

  it("30 self-doubling variables are E124 at the first too large (they exceeded V8's string length)", () => {
    const text = doublingStrings(30) + controlUsing({ fileOwner: "a30" });
    const r = covenant(["check", policyFile("doubling.promise", text)]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("");
    expect(r.out).toContain(`doubling.promise:${lineOf(text, "let a25 =")}:11: error E124: variable \`a25\` expands to 33,554,432 characters or items, more than the 16,777,216 a value may hold`);
    expect(r.out).toContain("1 error, 0 warnings");
  });

  it("self-doubling lists are E124 too, found without expanding them (it took exponential time)", () => {
    let text = 'let l0 = ["/bin/true"]\n';
    for (let i = 1; i <= 40; i++) text += `let l${i} = [l${i - 1}, l${i - 1}]\n`;
    text += `stakeholder ops\ncontrol "AC-1" {\n  title = "t"\n  owner = ops\n  command l40 { output_matches = "ok" }\n}\n`;
    const r = covenant(["check", policyFile("lists.promise", text)]);
    expect(r.code).toBe(2);
    // l21 is the first past 16 Mi: 2^21 copies of a list of one ten-character string
    expect(r.out).toContain(`lists.promise:${lineOf(text, "let l21 =")}:11: error E124: variable \`l21\` expands to 23,068,671 characters or items`);
    expect(r.out).toContain("1 error, 0 warnings");
  });

  it("a string built in place from many copies of a large variable is E124 at the string", () => {
    const text = `${doublingStrings(22)}stakeholder ops\ncontrol "AC-1" {\n  title = "t"\n  owner = ops\n  file "/etc/passwd" { mode = 0644 owner = "${"${a22}".repeat(8)}" }\n}\n`;
    const r = covenant(["check", policyFile("wide.promise", text)]);
    expect(r.code).toBe(2);
    expect(r.out).toContain("error E124: this string expands to more than the 16,777,216 characters a value may hold");
  });

  it("50,000 chained comparisons are reported, not walked 50,000 deep", () => {
    const text = `context c = 1${" < 2".repeat(50_000)}\n${controlUsing({ when: "c" })}`;
    const r = covenant(["check", policyFile("compare.promise", text)]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("");
    expect(r.out).toContain("error E003: comparisons cannot be chained");
  });

  it("a chain of 20,000 `depends_on` is checked without recursion", () => {
    // each depends on the one written after it: the search from the first goes 20,000 deep
    const promises = Array.from({ length: 20_000 }, (_, k) => `  file "/etc/f${k}" { mode = 0644 handle = "h${k}"${k < 19_999 ? ` depends_on = ["h${k + 1}"]` : ""} }`);
    const text = `stakeholder ops\ncontrol "AC-1" {\n  title = "t"\n  owner = ops\n${promises.join("\n")}\n}\n`;
    const r = covenant(["check", policyFile("deps.promise", text)]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  });
});

describe("large values are taken whole", () => {
  it("a text block of 200,000 lines is checked and formatted (finding its indentation overflowed the stack)", () => {
    const block = Array.from({ length: 200_000 }, (_, k) => `    line ${k}`).join("\n");
    const text = `${controlUsing({})}let notes = """\n${block}\n    """\n`;
    const path = policyFile("block.promise", text);
    const check = covenant(["check", path]);
    expect(check.err).toBe("");
    expect(check.out).toContain("1 file checked: 0 errors, 2 warnings"); // `notes` is never used; no covenant.yaml (W301)
    const fmt = covenant(["fmt", "--stdout", path]);
    expect(fmt.err).toBe("");
    expect(fmt.code).toBe(0);
    expect(fmt.out).toContain(`let notes = """\n${block}\n    """`); // byte for byte
  });

  it("a variable of 200,000 stakeholders after `->` is spread without the stack", () => {
    const text = `stakeholder ops\nlet team = [${Array(200_000).fill("ops").join(", ")}]\ncontrol "AC-1" {\n  title = "t"\n  owner = ops\n  file "/etc/passwd" -> team { mode = 0644 }\n}\n`;
    const r = covenant(["check", policyFile("team.promise", text)]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  });
});

describe("the number of diagnostics is capped", () => {
  const unknownAttributes = (count: number) =>
    `stakeholder ops\ncontrol "AC-1" {\n  title = "t"\n  owner = ops\n${Array.from({ length: count }, (_, k) => `  file "/etc/f${k}" { mdoe = 0644 }`).join("\n")}\n}\n`;

  it("reports the first 1,000, then one E011 counting the rest, and counts them all in the summary", () => {
    const r = covenant(["check", policyFile("many.promise", unknownAttributes(5000))]);
    expect(r.code).toBe(2);
    expect(r.out.match(/error E101/g)).toHaveLength(1000);
    expect(r.out).toContain("error E011: 4,000 more errors and 0 more warnings not shown: only the first 1,000 are reported");
    expect(r.out).toContain("1 file checked: 5000 errors, 0 warnings");
  });

  it("in JSON too: 1,001 diagnostics, the last one saying how many were left out", () => {
    const r = covenant(["check", "--format", "json", policyFile("many.promise", unknownAttributes(1500))]);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.out) as { diagnostics: { code: string; suppressed?: { errors: number } }[]; summary: { errors: number } };
    expect(report.diagnostics).toHaveLength(1001);
    expect(report.diagnostics.at(-1)).toMatchObject({ code: "E011", suppressed: { errors: 500, warnings: 0 } });
    expect(report.summary.errors).toBe(1500);
  });

  it("tens of thousands of syntax errors are counted, not held: check and fmt print 1,001", () => {
    const path = policyFile("syntax.promise", "let = \n".repeat(20_000));
    const check = covenant(["check", path]);
    expect(check.code).toBe(2);
    expect(check.out.match(/error E003/g)).toHaveLength(1000);
    expect(check.out).toMatch(/error E011: [\d,]+ more errors/);
    const fmt = covenant(["fmt", "--check", path]);
    expect(fmt.code).toBe(2);
    expect(fmt.err.match(/error E003/g)).toHaveLength(1000);
    expect(fmt.err).toMatch(/error E011: [\d,]+ more errors/);
  });
});

describe("fmt is linear", () => {
  it("aligns 50,000 `let`s in one run, fast enough that the quadratic search (over a minute) could not", { timeout: 30_000 }, () => {
    const lines = Array.from({ length: 50_000 }, (_, k) => `let v${k}${k % 7 === 0 ? "_longer" : ""} = "value ${k}"`);
    const r = covenant(["fmt", "--stdout", policyFile("aligned.promise", `${lines.join("\n")}\n`)]);
    expect(r.code).toBe(0);
    const out = r.out.split("\n");
    expect(out).toHaveLength(50_000 + 1); // and the last line break
    // every `=` one column after the longest `let name`: `let v49994_longer`
    const width = "let v49994_longer".length;
    for (let k = 0; k < 50_000; k++) expect(out[k]).toBe(`${`let v${k}${k % 7 === 0 ? "_longer" : ""}`.padEnd(width)} = "value ${k}"`);
  });
});
