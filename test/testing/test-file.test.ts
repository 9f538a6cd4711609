// The test-file decoder: what it accepts, every problem at once with its line and column, and,
// for any input at all, never a throw and never a position outside the text.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LineIndex } from "../../src/parser/diagnostics.ts";
import { decodeTestFile } from "../../src/testing/test-file.ts";

const at = (text: string, offset: number) => new LineIndex(text).position(offset);

describe("decodeTestFile", () => {
  it("decodes tests with fixtures named and inline, changes, and expectations of every form", () => {
    const text = [
      "policy: [access.promise]",
      "tests:",
      "  - name: root may log in",
      "    fixture: ../fixtures/fail/SOX-AC-10.json",
      "    expect:",
      "      controls:",
      "        SOX-AC-10: { outcome: drift, reason: 50-cloud-init.conf }",
      "        SOX-AC-11: [drift, repaired]",
      "      promises:",
      "        SOX-AC-12/file:/etc/ssh/sshd_config: kept",
      "      others: kept",
      "  - name: after approval",
      "    fixture: { extends: ../fixtures/debian-12.json, facts: { hostname: gl-db-01 } }",
      "    changes:",
      "      - { path: /usr/sbin/sshd, content: \"x\\n\", mode: \"0755\" }",
      "    expect: { controls: { SOX-CM-02: drift } }",
    ].join("\n");
    const r = decodeTestFile(text, "t.test.yaml");
    expect(r.diagnostics).toEqual([]);
    const [a, b] = r.file!.tests;
    expect(r.file!.policy.map((p) => p.path)).toEqual(["access.promise"]);
    expect(a!.fixture.path).toBe("../fixtures/fail/SOX-AC-10.json");
    expect(a!.controls.get("SOX-AC-10")).toMatchObject({ outcomes: ["drift"], reason: "50-cloud-init.conf" });
    expect(a!.controls.get("SOX-AC-11")!.outcomes).toEqual(["drift", "repaired"]);
    expect(a!.promises.get("SOX-AC-12/file:/etc/ssh/sshd_config")!.outcomes).toEqual(["kept"]);
    expect(a!.others!.outcomes).toEqual(["kept"]);
    expect(at(text, a!.span.start)).toEqual({ line: 3, column: 11 });
    expect(b!.fixture.inline).toEqual({ extends: "../fixtures/debian-12.json", facts: { hostname: "gl-db-01" } });
    expect(b!.changes).toMatchObject([{ path: "/usr/sbin/sshd", content: "x\n", mode: "0755" }]);
  });

  it("reports every problem at once, each at its place with its code", () => {
    const text = [
      "tests:",
      "  - name: one",
      "    fixture: host.json",
      "    expect: { controls: { C-1: dirft }, promises: { C-1/file:/x: [] } }",
      "    extra: 1",
      "  - name: one",
      "    fixture: host.json",
      "    expect: {}",
      "  - fixture: 3",
      "    changes: [{ path: /a, content: x, mode: 0640 }]",
      "    expect: { others: kept }",
    ].join("\n");
    const r = decodeTestFile(text, "t.test.yaml");
    const got = r.diagnostics.map((d) => `${d.code} ${at(text, d.span.start).line}:${at(text, d.span.start).column}`);
    expect(got.sort()).toEqual(["E402 5:5", "E403 8:5", "E403 9:5", "E404 10:45", "E404 4:66", "E404 9:14", "E405 4:32", "E406 6:11"]);
    expect(r.diagnostics.find((d) => d.code === "E405")!.suggestion).toBe("did you mean `drift`?");
    expect(r.diagnostics.find((d) => d.code === "E402")!.message).toContain("`extra` is not a key of a test");
    // what could be read is kept, to be checked further (never run); the nameless third is not
    expect(r.file!.tests.map((t) => t.name)).toEqual(["one", "one"]);
  });

  it("reports a key given twice and a YAML syntax error", () => {
    expect(decodeTestFile("tests: []\ntests: []\n", "t").diagnostics.map((d) => d.code)).toContain("E401");
    expect(decodeTestFile("tests: [\n", "t").diagnostics.map((d) => d.code)).toEqual(["E400"]);
  });

  it("never throws, and puts every diagnostic inside the text, whatever the input", () => {
    const outcome = fc.constantFrom("kept", "drift", "repaired", "skipped", "dirft", "", "1");
    const doc = fc.record({
      policy: fc.option(fc.oneof(fc.string(), fc.array(fc.string())), { nil: undefined }),
      tests: fc.oneof(
        fc.array(
          fc.record({
            name: fc.oneof(fc.string(), fc.integer()),
            fixture: fc.oneof(fc.string(), fc.dictionary(fc.string(), fc.jsonValue())),
            expect: fc.record({ controls: fc.dictionary(fc.string(), fc.oneof(outcome, fc.array(outcome), fc.record({ outcome, reason: fc.string() }))), others: fc.option(outcome, { nil: undefined }) }, { requiredKeys: [] }),
          }, { requiredKeys: [] }),
        ),
        fc.jsonValue(),
      ),
    }, { requiredKeys: [] });
    // JSON is YAML: structured input reaches deep into the decoder; raw strings reach the parser
    const input = fc.oneof(doc.map((d) => JSON.stringify(d)), fc.string(), fc.string({ unit: "binary" }));
    fc.assert(
      fc.property(input, (text) => {
        const r = decodeTestFile(text, "t.test.yaml");
        for (const d of r.diagnostics) {
          expect(d.span.start).toBeGreaterThanOrEqual(0);
          expect(d.span.end).toBeLessThanOrEqual(text.length);
          expect(d.span.start).toBeLessThanOrEqual(d.span.end);
          expect(d.code).toMatch(/^E4\d\d$/);
        }
        // with nothing to say, the whole file is given
        if (r.diagnostics.length === 0) expect(r.file).toBeDefined();
      }),
      { numRuns: 400 },
    );
  });

  it("decodes every generated valid test back to what was written", () => {
    const id = fc.stringMatching(/^[A-Z]{2,4}-[0-9]{2}$/);
    const outcomes = fc.uniqueArray(fc.constantFrom("kept", "drift", "repaired", "failed", "error", "skipped", "waived"), { minLength: 1, maxLength: 3 });
    const test = fc.record({ name: fc.string({ minLength: 1 }), fixture: fc.string({ minLength: 1 }).filter((s) => !s.includes("\0")), controls: fc.dictionary(id, outcomes, { minKeys: 1 }) });
    fc.assert(
      fc.property(fc.uniqueArray(test, { minLength: 1, maxLength: 5, selector: (t) => t.name }), (tests) => {
        const text = JSON.stringify({ tests: tests.map((t) => ({ name: t.name, fixture: t.fixture, expect: { controls: t.controls } })) });
        const r = decodeTestFile(text, "t.test.yaml");
        expect(r.diagnostics).toEqual([]);
        expect(r.file!.tests.map((t) => ({ name: t.name, fixture: t.fixture.path, controls: Object.fromEntries([...t.controls].map(([k, e]) => [k, e.outcomes])) }))).toEqual(tests);
      }),
      { numRuns: 200 },
    );
  });
});
