// Cases found in review: each once crashed the checker, or gave a wrong or missing diagnostic.
import { describe, expect, it } from "vitest";
import { calendarAttributes, controlAttributes, stakeholderAttributes, waiverAttributes } from "../../src/checker/blocks.ts";
import { attributesOf, promiseTypes } from "../../src/promise-types/registry.ts";
import { checkText, diagnose, find, inControl, STAKEHOLDERS } from "../helpers/diagnose.ts";

const codes = (text: string) => diagnose(text).map((d) => d.split(" ")[1]);

describe("no crash", () => {
  it("variables that refer to each other, used in a condition", () => {
    expect(codes(`let a = b\nlet b = a\ncontext c = a\n${inControl("  when = c\n  load { max_1m = 1 }")}`)).toContain("E115");
    expect(codes(`let a = [a]\ncontext c = hostname in a\n${inControl("  when = c\n  load { max_1m = 1 }")}`)).toContain("E115");
  });

  it("a glob class with a reversed range", () => {
    expect(find(inControl('  file "/srv/[z-a].dat" { mode = 0640 }'), "E103").message).toMatch(/range such as `\[z-a\]` must go upwards/);
    // process names are not globs
    expect(diagnose(inControl('  process "a[z-a]" { min = 1 }\n  process "a[z-a]" { min = 1 }'))).toEqual([]);
  });
});

describe("attribute names that are names of every JavaScript object", () => {
  // The checker keeps a block's attributes in plain records keyed by declared names.
  it("are never declared by a schema", () => {
    const declared = [...[...promiseTypes.keys()].flatMap((t) => [...attributesOf(t)!.keys()])];
    // and every name a constraint looks up
    for (const t of promiseTypes.values()) for (const c of t.constraints ?? []) declared.push(...Object.values(c).flat().filter((v): v is string => typeof v === "string" && v !== c.kind));
    for (const specs of [controlAttributes, waiverAttributes, stakeholderAttributes, calendarAttributes]) declared.push(...specs.map((s) => s.name));
    expect(declared.filter((n) => n in Object.prototype || n === "__proto__")).toEqual([]);
  });

  it("are unknown attributes when written", () => {
    const text = inControl('  file "/srv/a" { constructor = 1\n toString = "x"\n __proto__ = 2\n hasOwnProperty = 3\n mode = 0640 }');
    expect(codes(text)).toEqual(["E101", "E101", "E101", "E101"]);
  });
});

describe("contradictions", () => {
  it("are found when only one of the promises has a condition", () => {
    const text = `context c = hour < 12\n${inControl('  file "/etc/x" { mode = 0640 }\n  file "/etc/x" { mode = 0600 when = c }')}`;
    expect(codes(text)).toEqual(["E111"]);
  });

  it("ignore the order of set-like lists", () => {
    const text = inControl('  connections 5432 { sources = ["10.0.0.0/8", "192.168.0.0/16"] }\n  connections 5432 { sources = ["192.168.0.0/16", "10.0.0.0/8"] }');
    expect(diagnose(text)).toEqual([]);
  });

  it("name the promiser as written", () => {
    const text = inControl("  connections [5432, 1433] { max_total = 1 }\n  connections 5432 { max_total = 2 }");
    expect(find(text, "E111").message).toMatch(/^this promise contradicts another on `connections 5432`/);
  });
});

describe("values through variables", () => {
  it("depends_on given through a variable is checked", () => {
    const text = `let deps = ["nonexistent"]\n${inControl('  service "pg" { handle = "pg" }\n  process "postgres" { depends_on = deps }')}`;
    expect(find(text, "E118").excerpt).toBe("deps");
  });

  it("a promise cannot depend on itself, nor in a cycle", () => {
    expect(find(inControl('  service "pg" { handle = "pg" depends_on = ["pg"] }'), "E118").message).toBe("a promise cannot depend on itself (`pg`)");
    const cycle = inControl('  service "a" { handle = "a" depends_on = ["b"] }\n  service "b" { handle = "b" depends_on = ["a"] }');
    expect(find(cycle, "E118").message).toMatch(/^`depends_on` forms a cycle: (a → b → a|b → a → b)$/);
  });

  it("networks in a variable used with `ip in` are validated", () => {
    const text = `let nets = ["10.0.0.0/33", "bogus"]\ncontext c = ip in nets\n${inControl("  when = c\n  load { max_1m = 1 }")}`;
    expect(codes(text).filter((c) => c === "E103").length).toBe(2);
  });

  it("a stakeholder can be given through a variable", () => {
    expect(diagnose(`let who = security\n${inControl('  service "pg" -> [dba_oncall] { state = running }').replace("owner = security", "owner = who")}`)).toEqual([]);
  });

  it("a list variable inside a list is spliced in", () => {
    const text = `let app = ["10.20.0.0/24"]\nlet n = [5432]\n${inControl('  connections [n, 1521] { sources = [app, "10.1.0.0/16"] }')}`;
    const r = checkText({ "p.promise": text });
    expect(r.diagnostics).toEqual([]);
    const p = r.policy!.controls[0]!.promises[0]!;
    expect(p.promiser).toEqual([5432, 1521]);
    expect(p.attributes["sources"]).toEqual(["10.20.0.0/24", "10.1.0.0/16"]);
  });

  it("host facts cannot be redefined", () => {
    expect(find("context hour = true\n", "E114").message).toBe("`hour` is a host fact and cannot be redefined as a context");
    expect(find("let date = 2026-01-01\n", "E114").at).toBe("1:5");
  });

  it("ids and import paths cannot interpolate", () => {
    expect(find(`let n = "01"\n${inControl("  load { max_1m = 1 }", "AC-${n}")}`, "E102").message).toBe("control ids cannot contain `${…}`");
  });

  it("the policy carries resolved variable values", () => {
    const text = `let prefix = "gl"\nlet pat = "\${prefix}-db-*"\nlet alias = pat\ncontext c = hostname ~ alias\n${inControl("  when = c\n  load { max_1m = 1 }")}`;
    const r = checkText({ "p.promise": text });
    expect(r.diagnostics).toEqual([]);
    expect(Object.fromEntries(r.policy!.variables)).toEqual({ prefix: "gl", pat: "gl-db-*", alias: "gl-db-*" });
  });
});

describe("messages", () => {
  it("weekday order comparisons say what is allowed", () => {
    const text = `context w = weekday < friday\n${inControl("  when = w\n  load { max_1m = 1 }")}`;
    expect(codes(text)).toEqual(["E116"]);
    expect(find(text, "E116").message).toBe("`weekday` can only be tested with `==`, `!=` or `in`, not `<`");
  });

  it("a relative path gets no nonsense suggestion", () => {
    expect(find(inControl('  file "../etc/x" { mode = 0640 }'), "E103").suggestion).toBe("paths are not relative to the policy: write the full path");
  });

  it("waiver times on the same day are ordered", () => {
    const text = `${inControl("  load { max_1m = 1 }")}waiver "T-1" { reason = "r" approved_by = "j" from = 2026-12-01T10:00Z until = 2026-12-01T09:00Z }`;
    expect(codes(text)).toContain("E119");
  });

  it("positions inside text blocks are exact", () => {
    const text = `${STAKEHOLDERS}let d = """\n    line one\n      uses \${nope}\n    """\n`;
    expect(find(text, "E106").excerpt).toBe("${nope}");
  });
});
