// The loader on anything: random text, random YAML values, and the full good file with random
// damage. It never throws, and it gives a configuration or errors, never both nor neither; every
// diagnostic lies inside the text.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseConfig, type LoadResult } from "../../src/config/load.ts";

const good = readFileSync("test/fixtures/config/good-full.yaml", "utf8");

function sound(text: string): LoadResult {
  const r = parseConfig(text, "/p/covenant.yaml", { root: false, checkSecretFiles: false });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  expect(r.config === undefined).toBe(errors.length > 0);
  const lines = text.split("\n").length;
  for (const d of r.diagnostics) {
    expect(d.line).toBeGreaterThanOrEqual(1);
    expect(d.line).toBeLessThanOrEqual(lines);
    expect(d.column).toBeGreaterThanOrEqual(1);
    expect(d.offset).toBeLessThanOrEqual(text.length);
    expect(d.end).toBeGreaterThanOrEqual(d.offset);
    expect(d.message).not.toBe("");
  }
  return r;
}

const keys = ["version", "host", "tags", "stakeholders", "channels", "route", "routes", "match", "receivers", "type", "email", "twilio", "url", "people", "phone", "timezone", "quiet_hours", "escalate", "to", "after", "group_by", "password", "password_file", "secret_env", "delivery", "budget", "owners"];
const scalar = fc.oneof(fc.constantFrom(...keys, "1", "30s", "none", "+15551230001", "http://127.0.0.1:1"), fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.double());
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: "small" }, scalar, fc.array(tie("v"), { maxLength: 4 }), fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string()), tie("v"), { maxKeys: 5 })),
})).v;

describe("parseConfig never throws and gives a configuration xor errors", () => {
  it("on random text", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), (t) => void sound(t)), { numRuns: 300 });
  });
  it("on random YAML values, version 1 or not", () => {
    fc.assert(
      fc.property(value, fc.boolean(), (v, versioned) => {
        const doc = versioned && typeof v === "object" && v !== null && !Array.isArray(v) ? { version: 1, ...v } : v;
        sound(stringify(doc));
      }),
      { numRuns: 300 },
    );
  });
  it("on the full good file with a line dropped, a character changed or text inserted", () => {
    const lines = good.split("\n");
    fc.assert(
      fc.property(fc.nat(lines.length - 1), fc.nat(200), fc.string({ maxLength: 8 }), fc.constantFrom("drop", "change", "insert"), (line, col, s, how) => {
        const copy = [...lines];
        const l = copy[line]!;
        if (how === "drop") copy.splice(line, 1);
        else if (how === "change") copy[line] = l.slice(0, col % (l.length + 1)) + s + l.slice((col % (l.length + 1)) + 1);
        else copy[line] = l.slice(0, col % (l.length + 1)) + s + l.slice(col % (l.length + 1));
        sound(copy.join("\n"));
      }),
      { numRuns: 300 },
    );
  });
  it("absurd nesting is an error, not a crash", () => {
    for (const n of [100, 1000, 100_000]) {
      const flow = sound(`version: 1\nhost: ${"[".repeat(n)}${"]".repeat(n)}\n`);
      expect(flow.config).toBeUndefined();
      const map = sound(`version: 1\nhost: ${"{a: ".repeat(n)}1${"}".repeat(n)}\n`);
      expect(map.config).toBeUndefined();
    }
    expect(sound(`version: 1\nhost: ${"[".repeat(100_000)}\n`).diagnostics[0]!.code).toBe("E300");
  });

  it("aliases cannot blow up the value (a billion laughs is an error)", () => {
    const laughs = ["version: 1", "a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 8; i++) laughs.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`);
    const r = sound(laughs.join("\n"));
    expect(r.diagnostics[0]!.code).toBe("E300");
  });
});
