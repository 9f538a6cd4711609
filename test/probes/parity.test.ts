// Every probe has its source, its test and its doc page under one name.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { probes } from "../../src/probes/registry.ts";

describe("probe parity", () => {
  for (const p of probes) {
    it(`\`${p.name}\` has a source, a test and a doc page listed in docs/probes/README.md`, () => {
      expect(existsSync(`src/probes/${p.name}.ts`)).toBe(true);
      expect(existsSync(`test/probes/${p.name}.test.ts`)).toBe(true);
      expect(existsSync(`docs/probes/${p.name}.md`)).toBe(true);
      expect(readFileSync("docs/probes/README.md", "utf8")).toContain(`(${p.name}.md)`);
    });
  }
});
