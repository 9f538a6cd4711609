// The bundled examples are part of the product: they must stay clean and canonical.
import { describe, expect, it } from "vitest";
import { checkPaths } from "../src/checker/check.ts";

describe("examples/sox", () => {
  const result = checkPaths(["examples/sox"], { today: "2026-11-23" });

  it("checks without any error or warning", () => {
    expect(result.diagnostics).toEqual([]);
  });

  it("has at least ten controls covering the promised areas", () => {
    const controls = result.policy!.controls;
    expect(controls.length).toBeGreaterThanOrEqual(10);
    const types = new Set(controls.flatMap((c) => c.promises.map((p) => p.type)));
    for (const t of ["connections", "file", "group", "service", "process", "filehandles", "load", "sysctl"]) expect(types).toContain(t);
    expect(result.policy!.waivers.map((w) => w.control)).toContain("ITGC-AC-01");
  });

  it("gives every control an owner, a severity and framework references", () => {
    for (const c of result.policy!.controls) {
      expect(c.owner, c.id).toBeDefined();
      expect(c.refs.length, c.id).toBeGreaterThan(0);
    }
  });
});
