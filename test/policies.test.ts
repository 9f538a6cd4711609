// The SOX ITGC library in policies/, control by control: its own tests (policies/sox-itgc/
// *.test.yaml, run by `covenant test` as an author runs them) keep every control on the compliant
// fixture hosts, and each failing variant in policies/fixtures/fail/ fails its own control and
// leaves every other control kept. Here: they all pass, every variant is tested, and every
// control and promise is covered.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { checkPaths } from "../src/checker/check.ts";
import { covenant, ensureBuilt } from "./helpers/cli.ts";

const LIBRARY = "policies/sox-itgc";
const FAIL = join("policies/fixtures", "fail");

beforeAll(() => ensureBuilt());

const libraryControls = (): string[] => {
  const checked = checkPaths([LIBRARY]);
  return checked.policy!.controls.map((c) => c.id);
};

const variants = readdirSync(FAIL)
  .filter((f) => f.endsWith(".json"))
  .sort();
/** `SOX-AC-08.rhel.json` fails SOX-AC-08. */
const controlOf = (variant: string) => variant.replace(/\.json$/, "").split(".")[0]!;

interface TestReport {
  tests: { file: string; name: string; status: string; mismatches: unknown[] }[];
  summary: { tests: number; passed: number; failed: number };
  coverage: { controls: { total: number; uncovered: string[] }; promises: { total: number; uncovered: string[] } };
}

describe("the SOX ITGC library", () => {
  it("checks clean, is formatted, and uses only native promise types", () => {
    const checked = checkPaths(["policies"]);
    // W301 (no covenant.yaml on this machine) is about the host, not the library
    expect(checked.diagnostics.filter((d) => d.code !== "W301").map((d) => `${d.code} ${d.message}`)).toEqual([]);
    const types = new Set(checked.policy!.controls.flatMap((c) => c.promises.map((p) => p.type)));
    expect(types.has("command")).toBe(false);
    for (const c of checked.policy!.controls) {
      expect(c.refs.some((r) => r.startsWith("SOX ")), `${c.id} refs SOX`).toBe(true);
      expect(c.refs.some((r) => r.startsWith("COBIT ") || r.startsWith("COSO ")), `${c.id} refs COBIT or COSO`).toBe(true);
      expect(c.owner, `${c.id} has an owner`).toBeDefined();
      expect(c.description, `${c.id} has a description`).toBeDefined();
    }
    const fmt = covenant(["fmt", "--check", "policies"]);
    expect(fmt.out + fmt.err).toBe("");
    expect(fmt.code).toBe(0);
  });

  it("has a failing fixture for every control, and none for a control it does not have", () => {
    const controls = libraryControls();
    const covered = new Set(variants.map(controlOf));
    expect(controls.filter((c) => !covered.has(c))).toEqual([]);
    expect([...covered].filter((c) => !controls.includes(c))).toEqual([]);
  });

  it("passes its own tests, which use every failing variant and cover every control and promise", () => {
    const r = covenant(["test", "--json", "--min-coverage", "100", "policies"]);
    const report = JSON.parse(r.out) as TestReport;
    const failed = report.tests.filter((t) => t.status !== "passed").map((t) => `${t.file}: ${t.name}: ${JSON.stringify(t.mismatches)}`);
    expect(failed).toEqual([]);
    expect(r.code).toBe(0);
    expect(report.summary.passed).toBe(report.summary.tests);
    expect(report.coverage.controls.total).toBe(libraryControls().length);
    expect(report.coverage.controls.uncovered).toEqual([]);
    expect(report.coverage.promises.uncovered).toEqual([]);
    // every variant is the fixture of a test (SOX-CM-02's is written by its test as `changes`)
    const texts = readdirSync(LIBRARY).filter((f) => f.endsWith(".test.yaml")).map((f) => readFileSync(join(LIBRARY, f), "utf8")).join("\n");
    const unused = variants.filter((v) => !texts.includes(`fixtures/fail/${v}`) && controlOf(v) !== "SOX-CM-02");
    expect(unused).toEqual([]);
  }, 600_000);
});
