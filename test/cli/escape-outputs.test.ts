// Outside text in `check`, `fmt` and `history` (issue 13, section 4): file names, quoted source
// lines and policy text reach the terminal escaped, on their own line, with carets still under
// what they mark.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { visibleLine } from "../../src/cli/render.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

const made: string[] = [];
afterAll(() => made.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), "covenant-escape-"));
  made.push(dir);
  return dir;
}

const ESC = "\u001b";
const forgedName = `p\n${ESC}[31mKEPT     ITGC-FAKE-01  Everything is fine.promise`;
/** No raw control character but the line breaks between lines. */
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe("check", () => {
  it("escapes a policy file name holding a line break and an escape sequence", () => {
    const dir = temp();
    writeFileSync(join(dir, forgedName), `control "C-1" {\n  title = "t"\n  owner = nobody\n}\n`);
    const r = covenant(["check", dir], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.out).not.toMatch(RAW);
    expect(r.out.split("\n").filter((l) => l.startsWith("KEPT"))).toEqual([]);
    expect(r.out).toContain("p\\n\\x1b[31mKEPT     ITGC-FAKE-01  Everything is fine.promise:3:11: error E113");
  });

  it("escapes ESC [ 31m and a carriage return in a quoted source line, and keeps the caret under its token", () => {
    const dir = temp();
    // E113 (unknown stakeholder) quotes the line and points at `nobody`, after the escapes
    writeFileSync(join(dir, "q.promise"), `control "C-2" {\n  title = "${ESC}[31m" owner = nobody /* ${ESC}[2J\r */\n  service "x" { state = running }\n}\n`);
    const r = covenant(["check", join(dir, "q.promise")]);
    expect(r.code).toBe(2);
    expect(r.out).not.toMatch(RAW);
    const lines = r.out.split("\n");
    const quoted = lines.find((l) => l.includes('title = "\\x1b[31m" owner = nobody /* \\x1b[2J\\r */'));
    expect(quoted, r.out).toBeDefined();
    const caret = lines[lines.indexOf(quoted!) + 1]!;
    // the caret sits under `nobody` in the line as shown, escapes and all
    expect(caret.indexOf("^")).toBe(quoted!.indexOf("nobody"));
    expect(caret.slice(caret.indexOf("^"))).toBe("^^^^^^");
  });

  it("escapes policy text quoted in a message", () => {
    const dir = temp();
    writeFileSync(join(dir, "p.promise"), `control "C-1" {\n  title = "t"\n  severity = "hi${ESC}[31m"\n}\n`);
    const r = covenant(["check", join(dir, "p.promise")]);
    expect(r.code).toBe(2);
    expect(r.out).toContain("\\x1b[31m");
    expect(r.out).not.toMatch(RAW);
  });
});

describe("usage errors", () => {
  it("escape the argument they quote", () => {
    const r = covenant(["check", `--x${ESC}[31m\nKEPT`]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--x\\x1b[31m\\nKEPT");
    expect(r.err).not.toMatch(RAW);
  });
});

describe("visibleLine", () => {
  it("moves the caret by the width of the escapes before it and stretches it over escapes inside it", () => {
    expect(visibleLine(`a${ESC}b\tc`, 4, 1)).toEqual({ text: "a\\x1bb c", caretStart: 7, caretLength: 1 });
    expect(visibleLine(`x\ry`, 0, 3)).toEqual({ text: "x\\ry", caretStart: 0, caretLength: 4 });
    // a caret at or past the end of the line (an unexpected end of line) stays past it
    expect(visibleLine(`${ESC}`, 1, 1)).toEqual({ text: "\\x1b", caretStart: 4, caretLength: 1 });
  });
});

describe("fmt", () => {
  it("escapes a file name in what it says it would reformat, formatted, or could not parse", () => {
    const dir = temp();
    writeFileSync(join(dir, forgedName), `let   x = 1\n`);
    const check = covenant(["fmt", "--check", dir], { cwd: dir });
    expect(check.code).toBe(1);
    expect(check.out).toContain("would reformat p\\n\\x1b[31mKEPT");
    expect(check.out + check.err).not.toMatch(RAW);
    writeFileSync(join(dir, forgedName), `let x = \n`);
    const broken = covenant(["fmt", dir], { cwd: dir });
    expect(broken.code).toBe(2);
    expect(broken.err).toContain("p\\n\\x1b[31mKEPT");
    expect(broken.out + broken.err).not.toMatch(RAW);
  });
});

describe("history", () => {
  it("cannot be forged by a file name: a drift on a file named with a line break and KEPT stays on its line", () => {
    const dir = temp();
    const tree = join(dir, "tree");
    mkdirSync(tree);
    chmodSync(tree, 0o750);
    const forged = `x\nKEPT     ITGC-FAKE-01  Everything is fine ${ESC}[2J`;
    writeFileSync(join(tree, forged), "");
    chmodSync(join(tree, forged), 0o666);
    writeFileSync(join(dir, "p.promise"), `control "ITGC-CM-09" {\n  title = "Tree"\n  directory "${tree}" { max_mode = 0750 recurse = true }\n}\n`);
    const state = join(dir, "state");
    const run = covenant(["run", "--state", state, join(dir, "p.promise")]);
    expect(run.code).toBe(1);
    expect(run.out.split("\n").filter((l) => /^KEPT/.test(l))).toEqual([]);
    const history = covenant(["history", "--state", state]);
    expect(history.code, history.err).toBe(0);
    expect(history.out).toContain("x\\nKEPT     ITGC-FAKE-01  Everything is fine \\x1b[2J");
    expect(history.out.split("\n").filter((l) => /^\s*KEPT/.test(l))).toEqual([]);
    expect(history.out).not.toMatch(RAW);
  });
});
