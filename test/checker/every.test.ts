// `every`: on a control and on each promise, a duration from 10s to 24h, the promise's own
// winning over its control's, resolved by the checker into one value per promise (ms).
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkText, diagnose, find, inControl, STAKEHOLDERS } from "../helpers/diagnose.ts";
import { evaluateText } from "../helpers/evaluate.ts";

const L = STAKEHOLDERS.split("\n").length - 1; // lines taken by the stakeholder preamble
const line = (n: number) => L + 3 + n; // line of the n-th (1-based) line of a body in inControl

/** A control whose own attributes come before `body` (which holds its promises). */
const control = (attrs: string, body: string) => inControl(`${attrs ? `  ${attrs}\n` : ""}${body}`);

/** The policy, failing loudly on any diagnostic: a valid `every` is accepted without a word. */
function policyOf(text: string) {
  const r = checkText({ "p.promise": text });
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  return r.policy!;
}

describe("every: accepted values", () => {
  it.each([
    ["10s", 10_000],
    ["10000ms", 10_000],
    ["90s", 90_000],
    ["1.5m", 90_000],
    ["5m", 300_000],
    ["4h", 14_400_000],
    ["24h", 86_400_000],
    ["1d", 86_400_000],
    ["1440m", 86_400_000],
  ])("`every = %s` is %i ms on the promise, not among its own attributes", (written, ms) => {
    const p = policyOf(inControl(`  file "/srv/a" { mode = 0640 every = ${written} }`));
    const promise = p.controls[0]!.promises[0]!;
    expect(promise.every).toBe(ms);
    expect(promise.attributes).toEqual({ mode: 0o640 });
    expect(p.controls[0]!.every).toBeUndefined();
  });

  it("takes its value through a variable", () => {
    const p = policyOf(`let often = 30s\n${inControl('  file "/srv/a" { mode = 0640 every = often }')}`);
    expect(p.controls[0]!.promises[0]!.every).toBe(30_000);
  });

  it("is accepted on every promise type", () => {
    const p = policyOf(inControl('  load { max_1m = 4 every = 1m }\n  service "cron" { state = running every = 1m }\n  command ["/bin/true"] { exit_code = 0 every = 1m }'));
    expect(p.controls[0]!.promises.map((x) => [x.type, x.every])).toEqual([
      ["load", 60_000],
      ["service", 60_000],
      ["command", 60_000],
    ]);
  });
});

describe("every: control and promise", () => {
  it("a promise without `every` takes its control's; one with its own keeps it", () => {
    const p = policyOf(control("every = 1h", '  file "/srv/a" { mode = 0640 }\n  file "/srv/b" { mode = 0640 every = 1m }'));
    const c = p.controls[0]!;
    expect(c.every).toBe(3_600_000);
    expect(c.promises.map((x) => x.every)).toEqual([3_600_000, 60_000]);
  });

  it("the control's `every` may come after its promises, and still applies to them", () => {
    const p = policyOf(control("", '  file "/srv/a" { mode = 0640 }\n  every = 15m'));
    expect(p.controls[0]!.promises[0]!.every).toBe(900_000);
  });

  it("neither set: no value anywhere (the watcher's --every applies)", () => {
    const r = checkText({ "p.promise": inControl('  file "/srv/a" { mode = 0640 }') });
    expect(r.diagnostics).toEqual([]);
    const c = r.policy!.controls[0]!;
    expect("every" in c).toBe(false);
    expect("every" in c.promises[0]!).toBe(false);
  });

  it("one control's `every` does not reach another control's promises", () => {
    const text = `${control("every = 1h", '  file "/srv/a" { mode = 0640 }')}control "T-2" {\n  title = "t"\n  owner = security\n  file "/srv/b" { mode = 0640 }\n}\n`;
    expect(policyOf(text).controls.map((c) => c.promises[0]!.every)).toEqual([3_600_000, undefined]);
  });

  it("never makes two promises on one thing contradict", () => {
    const p = policyOf(inControl('  file "/srv/a" { mode = 0640 every = 1m }\n  file "/srv/a" { mode = 0640 every = 1h }'));
    expect(p.controls[0]!.promises.map((x) => x.every)).toEqual([60_000, 3_600_000]);
  });
});

describe("every: errors", () => {
  it("E125 below 10s, at the value, with the bound to use", () => {
    const text = inControl('  file "/srv/a" { mode = 0640 every = 5s }');
    const d = find(text, "E125");
    expect(d.message).toBe("`every = 5s` is below the 10s minimum");
    expect(d.at).toBe(`${line(1)}:39`);
    expect(d.excerpt).toBe("5s");
    expect(d.suggestion).toBe("use 10s or more; for a file or directory that must be seen sooner, `watch = realtime`");
    expect(checkText({ "p.promise": text }).policy).toBeUndefined();
  });

  it.each(["0s", "9s", "9999ms", "0.1m"])("E125 for `every = %s`", (written) => {
    expect(diagnose(inControl(`  load { max_1m = 1 every = ${written} }`))).toEqual([`${line(1)}:29 E125 \`every = ${written}\` is below the 10s minimum`]);
  });

  it.each(["86401s", "25h", "2d", "1w"])("E125 above 24h for `every = %s`", (written) => {
    const d = find(inControl(`  load { max_1m = 1 every = ${written} }`), "E125");
    expect(d.message).toBe(`\`every = ${written}\` is above the 24h maximum`);
    expect(d.suggestion).toBe("use 24h or less: the daily `covenant run` evaluates every promise anyway");
    expect(d.excerpt).toBe(written);
  });

  it("E125 on a control's `every`, which then gives its promises nothing", () => {
    const text = control("every = 3s", '  file "/srv/a" { mode = 0640 }');
    expect(diagnose(text)).toEqual([`${line(1)}:11 E125 \`every = 3s\` is below the 10s minimum`]);
  });

  it("E125 through a variable names it and its value, at the use", () => {
    const text = `let quick = 5000ms\n${inControl('  file "/srv/a" { mode = 0640 every = quick }')}`;
    const d = find(text, "E125");
    expect(d.message).toBe("`every = quick` (5s) is below the 10s minimum");
    expect(d.excerpt).toBe("quick");
    expect(d.at).toBe(`${line(1) + 1}:39`);
  });

  it("E102 for a value that is not a duration, E103 for a negative one: no E125 on top", () => {
    const bare = find(inControl("  load { max_1m = 1 every = 5 }"), "E102");
    expect(bare.message).toBe("`every` expects a duration such as `90s`, `5m` or `4h`, got a number `5`");
    expect(bare.suggestion).toBe("add a unit, such as `5s` or `5m`");
    expect(diagnose(inControl('  load { max_1m = 1 every = "5m" }')).map((d) => d.split(" ")[1])).toEqual(["E102"]);
    expect(diagnose(inControl("  load { max_1m = 1 every = 5MB }")).map((d) => d.split(" ")[1])).toEqual(["E102"]);
    expect(diagnose(control("every = -5m", "  load { max_1m = 1 }")).map((d) => d.split(" ")[1])).toEqual(["E103"]);
  });

  it("E105 when set twice; E101 outside controls and promises", () => {
    expect(find(inControl("  load { max_1m = 1 every = 1m every = 2m }"), "E105").message).toBe("attribute `every` is set twice");
    const waiver = `${inControl("  load { max_1m = 1 }")}waiver "T-1" { reason = "r" approved_by = "j" until = 2026-12-31 every = 1m }`;
    expect(find(waiver, "E101").message).toBe('unknown attribute `every` for waiver for "T-1"');
  });
});

describe("every: warnings", () => {
  it("W208 a promise repeating its control's value, pointing at both", () => {
    const text = control("every = 10m", '  file "/srv/a" { mode = 0640 every = 600s }');
    const d = find(text, "W208");
    expect(d.message).toBe("`every` repeats its control's value (10m)");
    expect(d.at).toBe(`${line(2)}:31`);
    expect(d.excerpt).toBe("every = 600s");
    expect(d.related?.map((r) => [r.message, text.slice(r.span.start, r.span.end)])).toEqual([["the control sets it here", "every = 10m"]]);
    expect(d.suggestion).toBe("remove it: the promise takes its control's `every`");
    expect(checkText({ "p.promise": text }).policy!.controls[0]!.promises[0]!.every).toBe(600_000);
    // a different value is an override, not a repetition
    expect(checkText({ "p.promise": control("every = 10m", '  file "/srv/a" { mode = 0640 every = 5m }') }).diagnostics).toEqual([]);
  });

  it("no warning for `every` on controls and promises, nor for `watch = realtime` (W206 is retired)", () => {
    const text = control(
      "every = 1h",
      '  file "/srv/a" { mode = 0640 every = 1m watch = realtime }\n  load { max_1m = 1 }\n  directory "/srv/d" { mode = 0750 watch = realtime }\n  process "cron" { min = 1 every = 2m }\n  load { max_5m = 1 every = 3m }',
    );
    const r = checkText({ "p.promise": text });
    expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
    // accepted and read: the watcher gets each promise's interval and its realtime request
    const promises = r.policy!.controls[0]!.promises;
    expect(promises.map((p) => p.every)).toEqual([60_000, 3_600_000, 3_600_000, 120_000, 180_000]);
    expect(promises.map((p) => p.attributes["watch"])).toEqual(["realtime", undefined, "realtime", undefined, undefined]);
  });

  it("an `every` out of bounds is E125 alone", () => {
    expect(diagnose(inControl("  load { max_1m = 1 every = 1s }")).map((d) => d.split(" ")[1])).toEqual(["E125"]);
  });
});

describe("every and covenant run", () => {
  it("a run evaluates every promise, whatever its `every` and its control's", async () => {
    const d = mkdtempSync(join(tmpdir(), "covenant-every-"));
    writeFileSync(join(d, "a"), "");
    chmodSync(join(d, "a"), 0o640);
    const e = await evaluateText(`control "C-1" {
  title = "hourly"
  every = 24h
  file "${d}/a" { mode = 0640 }
  file "${d}/a" { mode = 0640 every = 10s }
  file "${d}/missing" { mode = 0640 every = 1h }
}`);
    expect(e.results.map((r) => r.outcome)).toEqual(["kept", "kept", "drift"]);
  });
});
