import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPaths } from "../../src/checker/check.ts";
import { displayPath } from "../../src/checker/load.ts";

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "covenant-imports-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return relative(process.cwd(), dir);
}

const control = (id: string) => `control "${id}" {\n  title = "t"\n  owner = ops\n  load { max_1m = 1 }\n}\n`;

describe("imports", () => {
  it("follows relative imports once each and shares their names", () => {
    const dir = tree({
      "main.promise": `import "lib/common.promise"\nimport "lib/../lib/common.promise"\n${control("A")}`,
      "lib/common.promise": "stakeholder ops\n",
    });
    const r = checkPaths([join(dir, "main.promise")], { today: "2026-11-23" });
    expect(r.diagnostics).toEqual([]);
    expect(r.files.length).toBe(2);
  });

  it("a chain of 5,000 files, each importing the next, is loaded without recursion: no stack overflow (exit 3)", () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) files[`f${i}.promise`] = `import "f${i + 1}.promise"\n`;
    files["f5000.promise"] = `stakeholder ops\nimport "f4990.promise"\n${control("A")}`;
    const dir = tree(files);
    const r = checkPaths([join(dir, "f0.promise")], { today: "2026-11-23" });
    expect(r.files.length).toBe(5001);
    // the one cycle, f4990 → … → f5000 → f4990, reported once at the import that closes it
    expect(r.diagnostics.map((d) => d.code)).toEqual(["E109"]);
    expect(r.diagnostics[0]!.message.split(" → ")).toHaveLength(12);
  });

  it("reports a missing import at the import", () => {
    const dir = tree({ "main.promise": 'import "nope.promise"\n' });
    const r = checkPaths([join(dir, "main.promise")]);
    expect(r.diagnostics.map((d) => [d.code, d.message, d.span.start])).toEqual([["E110", "cannot import `nope.promise`: no such file or directory", 7]]);
  });

  it("a file that could not be read is the one error: the names it may declare are not reported unknown as well", () => {
    const uses = `import "lib/common.promise"\nlet where = "\${base}/gl"\ncontrol "A" {\n  title = "t"\n  owner = ops\n  when = business_hours\n  file "\${where}" -> auditors { mode = 0640 depends_on = ["other"] }\n}\nwaiver "B" { reason = "r" approved_by = "ops" until = 2027-01-01 }\n`;
    const missing = tree({ "main.promise": uses });
    const r = checkPaths([join(missing, "main.promise")], { today: "2026-11-23" });
    expect(r.diagnostics.map((d) => d.code)).toEqual(["E110"]);
    // once it is read, what it does not declare is told
    const present = tree({ "main.promise": uses, "lib/common.promise": "stakeholder ops\n" });
    const r2 = checkPaths([join(present, "main.promise")], { today: "2026-11-23" });
    expect([...new Set(r2.diagnostics.filter((d) => d.severity === "error").map((d) => d.code))].sort()).toEqual(["E106", "E107", "E112", "E113", "E118"]);
  });

  it("reports import cycles with the whole chain", () => {
    const dir = tree({
      "a.promise": 'import "b.promise"\nstakeholder ops\n',
      "b.promise": 'import "c.promise"\n',
      "c.promise": 'import "a.promise"\n',
    });
    const r = checkPaths([join(dir, "a.promise")]);
    const d = r.diagnostics.find((x) => x.code === "E109")!;
    expect(d.span.file).toBe(displayPath(join(dir, "c.promise")));
    expect(d.message).toBe(`import cycle: ${["a", "b", "c", "a"].map((n) => displayPath(join(dir, `${n}.promise`))).join(" → ")}`);
  });

  it("checks all .promise files of a directory as one policy", () => {
    const dir = tree({ "x/one.promise": control("A"), "x/two.promise": `stakeholder ops\n${control("A")}`, "x/notes.txt": "not policy" });
    const r = checkPaths([join(dir, "x")]);
    expect(r.files.map((f) => f.path)).toEqual([displayPath(join(dir, "x/one.promise")), displayPath(join(dir, "x/two.promise"))]);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["E108"]);
  });
});
