// One error, one diagnostic: what a syntax or value error leaves behind must not be reported
// again as something else (an unknown name, a wrong type), and what it did not touch must
// still be checked.
import { describe, expect, it } from "vitest";
import { checkText, diagnose, find, inControl, STAKEHOLDERS } from "../helpers/diagnose.ts";

const codes = (files: Record<string, string>) => checkText(files).diagnostics.map((d) => d.code);
const deep = (inner: string) => `${"(".repeat(65)}${inner}${")".repeat(65)}`;

describe("nesting past the limit", () => {
  it("drops only the declaration it is in: the others are checked, and its name counts as declared", () => {
    const a = `stakeholder s\nlet v = 1\ncontext c = ${deep("hour > 1")}\ncontrol "N-1" {\n  title = "t"\n  owner = s\n  file "/a" { mdoe = 0640 }\n}\n`;
    const b = `control "N-2" {\n  title = "t"\n  owner = s\n  when = c\n  sysctl "a.b" { value = v }\n}\n`;
    const r = checkText({ "a.promise": a, "b.promise": b });
    expect(r.diagnostics.map((d) => `${d.span.file} ${d.code}`)).toEqual(["a.promise E004", "a.promise E101"]);
  });

  it("keeps a control's id when the control is what nests too deep, for its waivers", () => {
    const a = `${STAKEHOLDERS}control "D-1" {\n  title = "t"\n  owner = security\n  when = ${deep("hour > 1")}\n  file "/a" { mode = 0640 }\n}\n`;
    const b = `waiver "D-1" { reason = "r"\n approved_by = "x"\n until = 2027-01-31 }\nwaiver "D-2" { reason = "r"\n approved_by = "x"\n until = 2027-01-31 }\n`;
    expect(codes({ "a.promise": a, "b.promise": b })).toEqual(["E004", "E112"]);
  });
});

describe("declarations a syntax error cut short", () => {
  it("a context whose condition does not parse is still a context to its users", () => {
    const text = `context broken = hour >\n${inControl('  file "/a" { mode = 0640 }').replace('  owner = security\n', '  owner = security\n  when = broken\n')}`;
    expect(codes({ "p.promise": text })).toEqual(["E003"]);
  });

  it("so is one missing its `=`", () => {
    const text = `let x\ncontext c\n${inControl('  file "/${x}" { mode = 0640 }').replace("  owner = security\n", "  owner = security\n  when = c\n")}`;
    expect(codes({ "p.promise": text }).filter((c) => c !== "E003")).toEqual([]);
  });

  it("a variable whose value does not parse is still a variable to its users", () => {
    const text = `let limit =\n${inControl('  file "/a" { max_size = limit }\n  file "/${limit}" { mode = 0640 }')}`;
    expect(codes({ "p.promise": text })).toEqual(["E003"]);
  });
});

describe("a promise whose `}` is missing", () => {
  it("is one error where the next promise starts, and the next promise is checked as written", () => {
    const text = inControl('  file "/a" { mode = 0640\n  file "/b" { mdoe = 0640 }');
    expect(diagnose(text).map((d) => d.replace(/^\d+:\d+ /, ""))).toEqual(["E003 expected `}` but found `file`", "E101 unknown attribute `mdoe` for `file` promise"]);
  });

  it("so is one before a promise whose promiser is a list", () => {
    const text = inControl('  file "/a" { mode = 0640\n  command ["/bin/true"] -> [security] { exit_code = 0 }');
    expect(diagnose(text).map((d) => d.replace(/^\d+:\d+ /, ""))).toEqual(["E003 expected `}` but found `command`"]);
  });

  it("outside promises, blocks keep reading attributes", () => {
    expect(diagnose('stakeholder s { contact { email = "x" } }\n').map((d) => d.split(" ")[1])).toEqual(["E003"]);
  });

  it("an attribute missing its `=` is still said to be one", () => {
    expect(diagnose(inControl('  file "/a" { mode 0640\n  }')).map((d) => d.replace(/^\d+:\d+ /, ""))).toEqual(["E003 expected `=` but found `0640`"]);
  });
});

describe("values", () => {
  it("a unit written apart from its number: one error, and the rest of the control still checked", () => {
    const text = inControl('  file "/a" { max_size = 10 MB }\n  file "/b" { mdoe = 0640 }\n  process "p" { timeout = 5 m\n  }');
    expect(diagnose(text).map((d) => d.split(" ").slice(1, 2)[0])).toEqual(["E005", "E101", "E005"]);
    const d = find(text, "E005");
    expect(d.message).toBe("a unit is written right after its number: `10 MB`");
    expect(d.suggestion).toBe("write `10MB`");
  });

  it("an unknown unit is reported once, not again as a wrong type", () => {
    expect(codes({ "p.promise": inControl('  file "/a" { max_size = 10mb }') })).toEqual(["E005"]);
    expect(codes({ "p.promise": inControl("  load { min_available_memory = 10mb }") })).toEqual(["E005"]);
  });

  it("reports every undefined variable of a string, each once", () => {
    const text = inControl('  file "/${aa}/${bb}/${aa}" { owner = "${cc}${dd}" }');
    expect(diagnose(text).filter((d) => d.includes("E106")).map((d) => d.split("`")[1])).toEqual(["aa", "bb", "cc", "dd"]);
    const list = `let l = ["a", "b"]\nlet dir = "srv"\n${inControl('  file "/${l}/${dir}/${l}/${dir}" { mode = 0640 }')}`;
    expect(codes({ "p.promise": list })).toEqual(["E102"]);
  });

  it("a duration cannot be negative", () => {
    const d = find(inControl('  file "/a" { max_age = -1h }'), "E103");
    expect(d.message).toBe("`max_age` cannot be negative");
    expect(find(inControl('  process "p" { running = true\n timeout = 0s }'), "E103").message).toBe("`timeout` must be at least `1ms`, got `0s`");
  });

  it("a percentage needs its `%`", () => {
    const d = find(inControl("  filehandles { max_used_pct = 80 }"), "E102");
    expect(d.message).toBe("`max_used_pct` expects a percentage such as `80%`, got a number `80`");
    expect(d.suggestion).toBe("write `80%`");
  });

  it("an impossible waiver date is reported once, not also as expired", () => {
    const text = `${inControl('  file "/a" { mode = 0640 }')}waiver "T-1" { reason = "r"\n approved_by = "x"\n until = 2026-02-30 }\n`;
    expect(codes({ "p.promise": text })).toEqual(["E005"]);
  });
});

describe("conditions", () => {
  it("a chained comparison is reported by the parser alone", () => {
    const text = inControl('  file "/a" { mode = 0640 }').replace('  owner = security\n', '  owner = security\n  when = 1 < hour < 5\n');
    expect(codes({ "p.promise": text })).toEqual(["E003"]);
  });

  it("an unknown name is reported once, not again as a mismatched comparison", () => {
    const text = inControl('  file "/a" { mode = 0640 }').replace('  owner = security\n', '  owner = security\n  when = hostnme ~ "db-*"\n');
    const r = codes({ "p.promise": text });
    expect(r).toEqual(["E107"]);
    expect(find(text, "E107").suggestion).toBe("did you mean `hostname`?");
  });
});

describe("stakeholders through variables", () => {
  it("a variable holding a stakeholder, or a list of them, may follow `->`", () => {
    const text = `let team = dba_oncall\nlet teams = [security, compliance]\n${inControl('  group "a" -> team { allowed = ["x"] }\n  group "b" -> teams { allowed = ["x"] }\n  group "c" -> [team, security] { allowed = ["x"] }')}`;
    const r = checkText({ "p.promise": text });
    expect(r.diagnostics).toEqual([]);
    const promises = r.policy!.controls[0]!.promises;
    expect(promises.map((p) => p.stakeholders)).toEqual([["dba_oncall"], ["security", "compliance"], ["dba_oncall", "security"]]);
  });

  it("a variable that holds something else is reported where it is used", () => {
    const text = `let port = 5432\n${inControl('  group "a" -> port { allowed = ["x"] }')}`;
    expect(find(text, "E102").message).toContain("through variable `port`");
  });
});
