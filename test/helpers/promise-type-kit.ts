// A test kit for promise types, in the spirit of ESLint's RuleTester: each type's test file
// lists valid and invalid promises; the kit adds the checks every type must pass (its
// documented example is clean, every attribute rejects a value of the wrong type, a misspelt
// attribute gets a suggestion).
import { describe, expect, it } from "vitest";
import type { DiagnosticCode } from "../../src/parser/diagnostics.ts";
import { promiseTypes } from "../../src/promise-types/registry.ts";
import type { ValueType } from "../../src/promise-types/schema.ts";
import { checkText, inControl } from "./diagnose.ts";

export interface InvalidCase {
  promise: string;
  code: DiagnosticCode;
  message?: string | RegExp;
}

export interface PromiseTypeCases {
  valid: string[];
  invalid: InvalidCase[];
}

/** A value of the wrong type for `t`, and the code the checker must answer with. */
function wrongValue(t: ValueType): [string, DiagnosticCode] | undefined {
  switch (t.kind) {
    case "string":
    case "stakeholder":
      return ["[1]", "E102"];
    case "integer":
    case "number":
    case "port":
      return ['"many"', "E102"];
    case "boolean":
      return ['"yes"', "E102"];
    case "duration":
      return ["30", "E102"];
    case "size":
      return ["10", "E102"];
    case "percent":
    case "sigma":
      return ['"high"', "E102"];
    case "mode":
      return ["0999", "E103"];
    case "cidr":
      return ['"10.0.0.0/40"', "E103"];
    case "path":
      return ['"relative/path"', "E103"];
    case "regex":
      return ['"(unclosed"', "E103"];
    case "date":
      return ['"tomorrow"', "E102"];
    case "enum":
      return ["no_such_value", "E103"];
    case "list":
      return ["12", "E102"];
    case "oneOrMany":
      // `[1]`, a string's wrong value, is a list here: its item would be faulted, not the attribute
      return t.of.kind === "string" ? ["true", "E102"] : wrongValue(t.of);
    case "argv":
      return ['"/bin/sh -c x"', "E102"];
    case "union":
      return ["[[1]]", "E102"];
    case "condition":
      return undefined;
  }
}

function diagnosticsOf(promise: string) {
  const text = inControl(promise.replace(/^/gm, "  "));
  return { text, result: checkText({ "p.promise": text }) };
}

/**
 * The diagnostics of a promise that should be accepted: none at all, `watch = realtime` and
 * `every` included (what they do is documented behaviour, read by `covenant watch`).
 */
function accepted(promise: string): string[] {
  return diagnosticsOf(promise).result.diagnostics.map((d) => `${d.code} ${d.message}`);
}

export function testPromiseType(name: string, cases: PromiseTypeCases): void {
  const spec = promiseTypes.get(name);
  describe(`promise type \`${name}\``, () => {
    it("is registered under its keyword", () => {
      expect(spec?.name).toBe(name);
    });
    if (!spec) return;

    it("accepts its documented example", () => {
      expect(accepted(spec.example)).toEqual([]);
    });

    for (const promise of cases.valid) {
      it(`accepts ${promise.replace(/\s+/g, " ")}`, () => {
        expect(accepted(promise)).toEqual([]);
      });
    }

    for (const c of cases.invalid) {
      it(`rejects ${c.promise.replace(/\s+/g, " ")} with ${c.code}`, () => {
        const { result } = diagnosticsOf(c.promise);
        const d = result.diagnostics.find((x) => x.code === c.code);
        expect(d, result.diagnostics.map((x) => `${x.code} ${x.message}`).join("\n")).toBeDefined();
        if (c.message instanceof RegExp) expect(d!.message).toMatch(c.message);
        else if (c.message !== undefined) expect(d!.message).toBe(c.message);
      });
    }

    it("exercises every attribute in its valid cases or example", () => {
      const used = [spec.example, ...cases.valid].join("\n");
      const missing = spec.attributes.filter((a) => !new RegExp(`\\b${a.name}\\s*=`).test(used)).map((a) => a.name);
      expect(missing).toEqual([]);
    });

    // The example with one attribute replaced (or added) by a value of the wrong type.
    const open = spec.example.indexOf("{");
    for (const attr of spec.attributes) {
      const wrong = wrongValue(attr.type);
      if (!wrong) continue;
      it(`rejects a wrong \`${attr.name}\` with ${wrong[1]}`, () => {
        const promise = `${spec.example.slice(0, open + 1)}\n  ${attr.name} = ${wrong[0]}\n${spec.example.slice(open + 1).replace(new RegExp(`^\\s*${attr.name}\\s*=.*$`, "m"), "")}`;
        const { text, result } = diagnosticsOf(promise);
        const at = text.indexOf(`${attr.name} = ${wrong[0]}`) + attr.name.length + 3;
        const d = result.diagnostics.find((x) => x.code === wrong[1] && x.span.start === at);
        expect(d, result.diagnostics.map((x) => `${x.code}@${x.span.start} ${x.message} (want @${at})`).join("\n")).toBeDefined();
      });
    }

    const first = spec.attributes.find((a) => a.name.length >= 4);
    if (first) {
      it("suggests the right name for a misspelt attribute", () => {
        // swap the first two neighbouring letters that differ: a typo, not the same word
        const n = first.name;
        let i = 1;
        while (i < n.length - 1 && n[i] === n[i + 1]) i++;
        const misspelt = n.slice(0, i) + n[i + 1] + n[i] + n.slice(i + 2);
        const { result } = diagnosticsOf(`${spec.example.slice(0, open + 1)}\n  ${misspelt} = 1\n${spec.example.slice(open + 1)}`);
        const d = result.diagnostics.find((x) => x.code === "E101");
        expect(d?.suggestion).toBe(`did you mean \`${first.name}\`?`);
      });
    }
  });
}
