// One name everywhere: every registered promise type has its source file, its behaviour, its
// test file and its doc page under that name, and nothing exists under a name that is not registered.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generatedDocs } from "../src/docs/generate.ts";
import { behaviours } from "../src/evaluator/behaviours.ts";
import { promiseTypes } from "../src/evaluator/registry.ts";

const names = [...promiseTypes.keys()].sort();
const stems = (dir: string, suffix: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .map((f) => f.slice(0, -suffix.length))
    .sort();

describe("parity between registry, sources, tests and docs", () => {
  it("has a source file per registered type and no unregistered one", () => {
    expect(stems("src/evaluator/promise-types", ".ts")).toEqual(names);
  });
  it("gives every registered type a behaviour, and no unregistered name one", () => {
    expect([...behaviours.keys()].sort()).toEqual(names);
  });
  it("tests every type's behaviour, not only its schema", () => {
    for (const n of names) expect(readFileSync(`test/promise-types/${n}.test.ts`, "utf8"), n).toContain(`describe("${n} behaviour"`);
  });
  it("has a test file per registered type and no unregistered one", () => {
    expect(stems("test/promise-types", ".test.ts")).toEqual(names);
  });
  it("has a doc page per registered type and no unregistered one", () => {
    expect(stems("docs/promise-types", ".md")).toEqual(names);
  });
  it("links every promise type from the language reference", () => {
    const language = readFileSync("docs/language.md", "utf8");
    for (const n of names) expect(language).toContain(`(promise-types/${n}.md)`);
  });
  it("keeps generated docs up to date (run `npm run docs`)", () => {
    for (const [path, text] of generatedDocs()) {
      expect(existsSync(path), `${path} is missing`).toBe(true);
      expect(readFileSync(path, "utf8"), `${path} is out of date`).toBe(text);
    }
  });
});
