// `promise_type`: a site's own promise type, declared in the policy, so that `check` validates
// its promises (attribute names, types, required ones) without running its plugin.
import { describe, expect, it } from "vitest";
import { checkText, diagnose, inControl } from "../helpers/diagnose.ts";

const DECL = `promise_type json_setting {
  command = ["/usr/bin/node", "/opt/plugins/json_setting.mjs"]
  timeout = 10s
  attribute key { type = string  required = true }
  attribute value { type = string }
  attribute level { type = string  values = ["low", "high"] }
  attribute retries { type = integer }
  attribute max_size { type = size }
}
`;

const errorsOf = (text: string) => diagnose(text).filter((d) => !/ W\d/.test(d));

describe("promise_type: promises of a declared type", () => {
  it("check clean and carry typed values, with the declaration on the policy", () => {
    const r = checkText({ "p.promise": DECL + inControl('  json_setting "/etc/app.json" { key = "audit" value = "on" level = high retries = 3 max_size = 1KiB repair = true }') });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const p = r.policy!.controls[0]!.promises[0]!;
    expect(p.type).toBe("json_setting");
    expect(p.promiser).toBe("/etc/app.json");
    expect(p.attributes).toEqual({ key: "audit", value: "on", level: "high", retries: 3, max_size: 1024, repair: true });
    expect(r.policy!.promiseTypes!.get("json_setting")).toMatchObject({ name: "json_setting", command: ["/usr/bin/node", "/opt/plugins/json_setting.mjs"], timeoutMs: 10_000 });
  });

  it("are validated against the declared attributes: unknown, wrongly typed, not in `values`, missing a required one", () => {
    const text = DECL + inControl('  json_setting "/etc/app.json" { vaule = "on" retries = "three" level = medium }');
    const got = errorsOf(text);
    expect(got.some((d) => /E101 unknown attribute `vaule` for `json_setting` promise/.test(d))).toBe(true);
    expect(got.some((d) => / E102 .*retries/.test(d) || / E102 /.test(d))).toBe(true);
    expect(got.some((d) => / E10[23] .*medium/.test(d))).toBe(true);
    expect(got.some((d) => /E104 `json_setting` promise needs `key`/.test(d))).toBe(true);
  });

  it("a declaration in another file of the policy counts (order of files never matters)", () => {
    const r = checkText({ "a.promise": inControl('  json_setting "/x" { key = "k" }'), "b.promise": DECL });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });

  it("without the declaration the type is unknown (E100), with the declared types suggested", () => {
    expect(errorsOf(DECL + inControl('  json_settings "/x" { key = "k" }')).join("\n")).toMatch(/E100 unknown promise type `json_settings`/);
  });

  it("two promises of a declared type never contradict: what their attributes mean is the plugin's", () => {
    const r = checkText({ "p.promise": DECL + inControl('  json_setting "/x" { key = "a" value = "1" }\n  json_setting "/x" { key = "b" value = "2" }') });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });
});

describe("promise_type: malformed declarations", () => {
  const at = (decl: string, code: string) => errorsOf(decl + inControl('  file "/x" { mode = 0640 }')).filter((d) => d.includes(` ${code} `));

  it("needs a command, an argv whose program is an absolute path (E104, E103)", () => {
    expect(at("promise_type t {\n  attribute a { type = string }\n}\n", "E104")).toEqual(["1:14 E104 promise type `t` needs `command`"]);
    expect(at('promise_type t { command = ["node", "x.mjs"] }\n', "E103").length).toBe(1);
  });

  it("refuses a built-in type's name and a second declaration of a name (E114)", () => {
    expect(at('promise_type file { command = ["/bin/true"] }\n', "E114")).toEqual(["1:14 E114 `file` is a built-in promise type"]);
    expect(at('promise_type t { command = ["/bin/true"] }\npromise_type t { command = ["/bin/true"] }\n', "E114")).toEqual(["2:14 E114 promise type `t` is already declared"]);
  });

  it("refuses items other than `attribute NAME { … }`, and common attributes redeclared (E126)", () => {
    expect(at('promise_type t {\n  command = ["/bin/true"]\n  file "/x" { mode = 0640 }\n}\n', "E126")).toEqual([
      "3:3 E126 a promise type's body holds its own attributes and `attribute` declarations, not `file`",
    ]);
    expect(at('promise_type t {\n  command = ["/bin/true"]\n  attribute when { type = string }\n}\n', "E126")).toEqual([
      "3:13 E126 `when` is an attribute every promise has: a promise type cannot declare it",
    ]);
    expect(at('promise_type t {\n  command = ["/bin/true"]\n  attribute n { type = integer values = ["a"] }\n}\n', "E126")).toEqual([
      "3:41 E126 `values` lists the values of a string attribute",
    ]);
  });

  it("checks an attribute declaration's own attributes: an unknown value type, a duplicate name", () => {
    expect(at('promise_type t {\n  command = ["/bin/true"]\n  attribute a { type = text }\n}\n', "E103").length + at('promise_type t {\n  command = ["/bin/true"]\n  attribute a { type = text }\n}\n', "E102").length).toBe(1);
    expect(at('promise_type t {\n  command = ["/bin/true"]\n  attribute a { type = string }\n  attribute a { type = string }\n}\n', "E114")).toEqual([
      "4:13 E114 attribute `a` is already declared for promise type `t`",
    ]);
  });

  it("a promise of a type whose declaration has errors is not reported as of an unknown type as well", () => {
    const got = errorsOf('promise_type t { attribute a { type = string } }\n' + inControl('  t "/x" { a = "1" }'));
    expect(got.map((d) => d.split(" ")[1])).toEqual(["E104"]);
  });
});
