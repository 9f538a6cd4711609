// The one-pass check that a body is JSON.stringify's own text (src/evidence/canonical-json.ts): it
// may say "not known" of a text that is, never "yes" of one that is not. Texts JSON.stringify
// wrote are known; texts spelt otherwise (whitespace, escapes, numbers, keys twice or of digits,
// surrogates) are not, or are checked against JSON.stringify itself over many random texts.
import { describe, expect, it } from "vitest";
import { isCanonicalJson } from "../../src/evidence/canonical-json.ts";
import { extractLine } from "../../src/evidence/manifest.ts";

const exact = (text: string) => JSON.stringify(JSON.parse(text)) === text;

/** A small seeded generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random JSON text, written the way JSON.stringify would or in one of the other ways JSON allows. */
function text(rnd: () => number, depth = 0): string {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const space = () => (rnd() < 0.03 ? pick([" ", "\n", "\t", "\r"]) : "");
  const str = () => {
    const parts = ["a", "key", "é", "😀", "\\n", "\\t", '\\"', "\\\\", "\\/", "\\u0041", "\\u001f", "\\u0001", "\\ud800", "\\ud83d\\ude00", "\\b", "\\f", "\\r", " ", "\u2028", "\u007f", "0", "12", "__proto__", "-1"];
    let s = "";
    const n = Math.floor(rnd() * 4);
    for (let i = 0; i < n; i++) s += pick(parts);
    return `"${s}"`;
  };
  const num = () => pick(["0", "-0", "1", "-12", "0.4", "1.0", "1e2", "1E2", "1e-7", "1e21", "123456789012345", "1234567890123456", "12345678901234567890", "-0.0", "0.1", "2.5e-5", "3.14159", "100", "9007199254740993"]);
  const r = rnd();
  if (depth > 3 || r < 0.35) return pick([str, num, () => pick(["true", "false", "null"])])();
  if (r < 0.6) {
    const n = Math.floor(rnd() * 4);
    return `[${space()}${Array.from({ length: n }, () => space() + text(rnd, depth + 1) + space()).join(",")}]`;
  }
  const keys = Math.floor(rnd() * 5);
  const members: string[] = [];
  for (let i = 0; i < keys; i++) {
    // keys repeat now and then, some are digits only
    const key = rnd() < 0.2 && members.length > 0 ? members[0]!.slice(0, members[0]!.indexOf(":")) : rnd() < 0.1 ? `"${Math.floor(rnd() * 20)}"` : str();
    members.push(`${key}${space()}:${space()}${text(rnd, depth + 1)}`);
  }
  return `{${space()}${members.join(`${space()},`)}${space()}}`;
}

describe("a body known to be JSON.stringify's own text", () => {
  it("knows the texts JSON.stringify writes", () => {
    const values: unknown[] = [
      { key: "SOX-AC-01/file:/etc/ssh/sshd_config", to: "drift", reason: 'mode is 0644, promised "0600"\n', differences: [{ attribute: "mode", expected: "0600", observed: "0644" }], durationMs: 0.4, line: 12, ok: true, none: null },
      { a: -5, b: 1e-7, c: 2 ** 60, d: -0, e: "é😀\u2028\u007f", f: [], g: {}, h: [[1, [2, {}]]], i: "\b\f\n\r\t\\\"" },
      { "": 1, "-1": 2, "1.5": 3, "01x": 4 },
    ];
    for (const v of values) expect(isCanonicalJson(JSON.stringify(v)), JSON.stringify(v)).toBe(true);
  });

  it("does not claim what it cannot know, nor what is not so", () => {
    const notKnown = ['{"a":1, "b":2}', '{"a":1,"a":2}', '{"b":1,"a":{"b":2,"b":3}}', '{"1":1,"a":2}', '{"a":"\\u0041"}', '{"a":"\\/"}', '{"a":"\\ud800"}', '{"a":1.0}', '{"a":-0}', '{"a":1e2}', '{"a":12345678901234567890}', " {}", '{"a":[1 ,2]}', '{"a":"\\ud83d\\ude00"}'];
    for (const t of notKnown) expect(isCanonicalJson(t), t).toBe(false);
    // JSON.stringify's own \u escapes (of control characters) are left to the slow way too
    expect(isCanonicalJson(JSON.stringify({ a: "\u0001" }))).toBe(false);
    // keys that are the same once read are the same written: and those the same text, twice, are refused
    expect(isCanonicalJson('{"k":{"x":1},"l":{"x":2}}')).toBe(true);
    expect(isCanonicalJson(`{${Array.from({ length: 64 }, (_, i) => `"k${i}":${i}`).join(",")}}`)).toBe(true);
    expect(isCanonicalJson(`{${Array.from({ length: 65 }, (_, i) => `"k${i}":${i}`).join(",")}}`)).toBe(false);
  });

  it("is never wrong over random texts of JSON, spelt in every way JSON allows", () => {
    const rnd = random(17);
    let known = 0;
    for (let i = 0; i < 50_000; i++) {
      const t = text(rnd);
      if (!isCanonicalJson(t)) continue;
      known++;
      expect(exact(t), t).toBe(true);
    }
    // the texts it knows are many: it is not a check that says no to everything
    expect(known).toBeGreaterThan(10_000);
  });

  it("gives the extract the line JSON.stringify makes of the record, whether it knew the body or not", () => {
    const rnd = random(5);
    for (let i = 0; i < 5_000; i++) {
      const inner = text(rnd);
      const body = `{"v":${inner}}`;
      const parsed = JSON.parse(body) as Record<string, unknown>;
      const r = { seq: i, kind: "change", run: 3, time: "2026-11-23T10:00:00.000Z", body, mac: "ab".repeat(32) };
      expect(extractLine(r, parsed), body).toBe(JSON.stringify({ seq: r.seq, kind: r.kind, run: r.run, time: r.time, body: parsed, ...(exact(body) ? {} : { bodyText: body }), mac: r.mac }));
    }
  });
});
