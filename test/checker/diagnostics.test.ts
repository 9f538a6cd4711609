// One case per diagnostic the checker produces: the code, where it points, and the help it gives.
import { describe, expect, it } from "vitest";
import { checkText, diagnose, find, inControl, STAKEHOLDERS } from "../helpers/diagnose.ts";

const L = STAKEHOLDERS.split("\n").length - 1; // lines taken by the stakeholder preamble
const line = (n: number) => L + 3 + n; // line of the n-th (1-based) line of a body in inControl

describe("meaning checks", () => {
  it("accepts a clean policy without diagnostics", () => {
    expect(diagnose(inControl('  file "/srv/a" { mode = 0640 }'))).toEqual([]);
  });

  it("E100 unknown promise type, with a suggestion", () => {
    const d = find(inControl('  fiel "/srv/a" { mode = 0640 }'), "E100");
    expect(d.at).toBe(`${line(1)}:3`);
    expect(d.excerpt).toBe("fiel");
    expect(d.suggestion).toBe("did you mean `file`?");
  });

  it("E101 unknown attribute, with a suggestion", () => {
    const d = find(inControl('  file "/srv/a" { mdoe = 0640 }'), "E101");
    expect(d.message).toBe("unknown attribute `mdoe` for `file` promise");
    expect(d.excerpt).toBe("mdoe");
    expect(d.suggestion).toBe("did you mean `mode`?");
  });

  it("E102 wrong value type, with a hint", () => {
    const d = find(inControl('  process "cron" { max_age = 30 }'), "E102");
    expect(d.message).toBe("`max_age` expects a duration such as `90s`, `5m` or `4h`, got a number `30`");
    expect(d.suggestion).toBe("add a unit, such as `30s` or `30m`");
  });

  it("E103 octal mode out of range", () => {
    const d = find(inControl('  file "/srv/a" { mode = 0999 }'), "E103");
    expect(d.message).toBe("`0999` is not an octal file mode: digits must be 0 to 7");
    expect(d.excerpt).toBe("0999");
  });

  it("E103 a secret pattern the linear-time engine cannot run (a lookbehind)", () => {
    const d = find(inControl('  file "/srv/a" { integrity = sha256 mask = ["(?<=key=)\\\\S+", "LGR-[0-9A-F]{8}"] }'), "E103");
    expect(d.message).toMatch(/cannot run in time linear in the line \(RE2\): /);
    expect(d.excerpt).toContain("(?<=key=)");
    expect(d.suggestion).toMatch(/no lookaround and no backreference/);
    expect(diagnose(inControl('  file "/srv/a" { integrity = sha256 mask = ["^key\\\\s+(?<secret>(\\\\w+)+)$", "(?:token|key)=[0-9a-f]{32}"] }'))).toEqual([]);
  });

  it("E103 CIDR prefix out of range, also through a variable", () => {
    const text = `let nets = ["10.0.0.0/33"]\n${inControl("  connections 5432 { sources = nets }")}`;
    const d = find(text, "E103");
    expect(d.message).toBe("through variable `nets`: `10.0.0.0/33` is not a valid address or network: the prefix length must be 0 to 32");
    expect(d.excerpt).toBe("nets");
    expect(d.related?.[0]?.message).toBe("the value comes from here");
  });

  it("E103 a bounded fact compared with a number it never takes", () => {
    const when = (cond: string) => diagnose(inControl('  file "/srv/a" { mode = 0640 }').replace("  owner = security\n", `  owner = security\n  when = ${cond}\n`));
    expect(when("month == 13")).toEqual([`${line(1)}:19 E103 \`month\` is 1 to 12, never 13: the comparison is never true`]);
    expect(when("hour < 24")[0]).toContain("`hour` is 0 to 23, never 24: the comparison is always true");
    expect(when("0 < day_of_month")[0]).toContain("`day_of_month` is 1 to 31, never 0: the comparison is always true");
    expect(when("quarter in [4, 5]")).toEqual([`${line(1)}:25 E103 \`quarter\` is 1 to 4: \`5\` never matches`]);
    // one error for a list where a number belongs, not a range error too
    expect(when("month == [13]").map((d) => d.split(" ")[1])).toEqual(["E116"]);
    expect(when("hour >= 0 and hour <= 23 and month != 12 and business_day_of_month == 0")).toEqual([]);
  });

  it("E103 unknown enum value, with a suggestion", () => {
    const d = find(inControl('  file "/srv/a" { integrity = sha265 }'), "E103");
    expect(d.suggestion).toBe("did you mean `sha256`?");
  });

  it("E103 out-of-range numbers, ports and percentages", () => {
    expect(find(inControl("  connections 70000 { max_total = 1 }"), "E103").message).toBe("the promiser of `connections` must be a port number (1-65535), got `70000`");
    expect(find(inControl("  filehandles { max_used_pct = 120% }"), "E103").message).toBe("`max_used_pct` must be between 0% and 100%, got `120%`");
  });

  it("E104 missing required attribute", () => {
    const d = find(`${STAKEHOLDERS}control "X" {\n  owner = security\n  load { max_1m = 4 }\n}\n`, "E104");
    expect(d.message).toBe('control "X" needs `title`');
    expect(d.excerpt).toBe('"X"');
  });

  it("E104 a promise that promises nothing", () => {
    expect(find(inControl("  load { per_cpu = true }"), "E104").message).toBe(
      "`load` promise promises nothing: set at least one of `max_1m`, `max_5m`, `max_15m`, `min_available_memory`, `anomaly`",
    );
  });

  it("E105 duplicate attribute, pointing at both", () => {
    const d = find(inControl('  file "/srv/a" { mode = 0640 mode = 0600 }'), "E105");
    expect(d.at).toBe(`${line(1)}:31`);
    expect(d.related?.[0]?.message).toBe("first set here");
  });

  it("E106 undefined variable, with a suggestion", () => {
    const text = `let app_servers = ["10.0.0.0/8"]\n${inControl("  connections 5432 { sources = app_sever }")}`;
    const d = find(text, "E106");
    expect(d.excerpt).toBe("app_sever");
    expect(d.suggestion).toBe("did you mean `app_servers`?");
  });

  it("E106 undefined variable in a string interpolation", () => {
    const text = `let base = "/srv"\n${inControl('  file "${bsae}/a" { mode = 0640 }')}`;
    const d = find(text, "E106");
    expect(d.excerpt).toBe("${bsae}");
    expect(d.suggestion).toBe("did you mean `base`?");
  });

  it("E107 undefined name in a context, with a suggestion", () => {
    const d = find("context c = hostnme ~ \"gl-*\"\ncontrol \"X\" { title = \"t\" when = c\n load { max_1m = 1 } }", "E107");
    expect(d.excerpt).toBe("hostnme");
    expect(d.suggestion).toBe("did you mean `hostname`?");
  });

  it("E107 undefined context in `when`, with a suggestion", () => {
    const d = find(`context close_period = day_of_month <= 3\n${inControl("  when = close_perod\n  load { max_1m = 1 }")}`, "E107");
    expect(d.suggestion).toBe("did you mean `close_period`?");
  });

  it("E108 duplicate control id across files, naming both", () => {
    const r = checkText({
      "a.promise": `${STAKEHOLDERS}control "X" { title = "a" owner = security load { max_1m = 1 } }`,
      "b.promise": 'control "X" { title = "b" owner = security load { max_1m = 2 } }',
    });
    const d = r.diagnostics.find((x) => x.code === "E108")!;
    expect(d.span.file).toBe("b.promise");
    expect(d.related?.[0]?.span.file).toBe("a.promise");
  });

  it("E111 contradicting promises, naming both locations", () => {
    const text = inControl('  file "/srv/a.dat" { mode = 0640 }\n  file "/srv/a.dat" { mode = 0600 }');
    const d = find(text, "E111");
    expect(d.at).toBe(`${line(2)}:23`);
    expect(d.related?.[0]?.span.start).toBe(text.indexOf("mode = 0640"));
  });

  it("E111 a glob that covers a path promised differently", () => {
    const text = inControl('  file "/srv/*.dat" { owner = "ledger" }\n  file "/srv/a.dat" { owner = "root" }');
    expect(find(text, "E111").message).toContain('`owner = "root"` here, `owner = "ledger"`');
  });

  it("two command promises on the same argv check different patterns without contradicting (issue 13); their exit statuses still contradict", () => {
    const argv = '["/usr/bin/systemctl", "status", "postd"]';
    const text = inControl(
      `  command ${argv} { output_matches = "active" output_excludes = "failed" user = "root" max_output = 1KiB }\n  command ${argv} { output_matches = "enabled" output_excludes = "masked" user = "nobody" max_output = 2KiB nodiff = true }`,
    );
    expect(diagnose(text)).toEqual([]);
    const exits = inControl(`  command ${argv} { exit_code = 0 }\n  command ${argv} { exit_code = 3 }`);
    expect(find(exits, "E111").message).toContain("`exit_code = 3` here, `exit_code = 0`");
  });

  it("no contradiction when the promises apply under different conditions", () => {
    const text = `context a = hour < 12\ncontext b = hour >= 12\n${inControl('  file "/srv/a" { mode = 0640 when = a }\n  file "/srv/a" { mode = 0600 when = b }')}`;
    expect(diagnose(text)).toEqual([]);
  });

  it("E112 waiver for an unknown control, with a suggestion", () => {
    const text = `${inControl("  load { max_1m = 1 }", "ITGC-AC-01")}waiver "ITGC-AC-10" { reason = "r" approved_by = "j" until = 2026-12-31 }`;
    expect(find(text, "E112").suggestion).toBe("did you mean `ITGC-AC-01`?");
  });

  it("E113 unknown stakeholder, with a suggestion", () => {
    const d = find(inControl('  service "cron" -> [dba_oncal] { state = running }'), "E113");
    expect(d.excerpt).toBe("dba_oncal");
    expect(d.suggestion).toBe("did you mean `dba_oncall`?");
  });

  it("E114 duplicate definitions", () => {
    const d = find("let a = 1\nlet a = 2\n", "E114");
    expect(d.at).toBe("2:5");
    expect(d.related?.[0]?.message).toBe("first defined here");
  });

  it("E115 contexts defined in terms of themselves", () => {
    const d = find(`context a = b\ncontext b = a\n${inControl("  when = a\n  load { max_1m = 1 }")}`, "E115");
    expect(d.message).toMatch(/a → b → a|b → a → b/);
  });

  it("E116 comparing the wrong types", () => {
    const d = find(`context c = hostname > 3\n${inControl("  when = c\n  load { max_1m = 1 }")}`, "E116");
    expect(d.message).toBe("`>` compares two numbers or two dates, not a string and a number");
  });

  it("E116 a fact used as a condition", () => {
    const d = find(`${inControl("  when = hour\n  load { max_1m = 1 }")}`, "E116");
    expect(d.message).toBe("`hour` is a number, not a condition");
    expect(d.suggestion).toBe("compare it, such as `hour >= 1`");
  });

  it("E103 unknown weekday, with a suggestion", () => {
    const d = find(`context w = weekday == fridya\n${inControl("  when = w\n  load { max_1m = 1 }")}`, "E103");
    expect(d.suggestion).toBe("did you mean `friday`?");
  });

  it("E117 promiser missing or not allowed", () => {
    expect(find(inControl("  file { mode = 0640 }"), "E117").message).toMatch(/^`file` needs a promiser/);
    expect(find(inControl('  load "x" { max_1m = 1 }'), "E117").message).toBe("`load` takes no promiser: it checks the whole host");
  });

  it("E118 unknown handle in depends_on, with a suggestion", () => {
    const text = inControl('  service "postgresql" { handle = "pg" }\n  process "postgres" { depends_on = ["gp"] }');
    expect(find(text, "E118").suggestion).toBe("did you mean `pg`?");
  });

  it("E119 contradictory attributes within a promise", () => {
    expect(find(inControl('  process "x" { min = 3 max = 1 }'), "E119").message).toBe("`min` (3) is greater than `max` (1): the promise can never be kept");
    expect(find(inControl('  file "/a" { mode = 0640 max_mode = 0644 }'), "E119").message).toBe("`max_mode` and `mode` cannot both be set");
  });

  it("E119 a waiver that ends before it starts", () => {
    const text = `${inControl("  load { max_1m = 1 }")}waiver "T-1" { reason = "r" approved_by = "j" from = 2026-12-01 until = 2026-11-30 }`;
    expect(find(text, "E119").message).toBe("the waiver ends (2026-11-30) before it starts (2026-12-01)");
  });

  it("argv commands must be lists with an absolute program", () => {
    expect(find(inControl('  command "/bin/true" { exit_code = 0 }'), "E102").suggestion).toBe("write the command as a list: each argument its own string");
    expect(find(inControl('  command ["true"] { exit_code = 0 }'), "E103").message).toMatch(/must be an absolute path/);
  });
});

describe("warnings", () => {
  it("W201 unused variable", () => {
    expect(find(`let spare = 3\n${inControl("  load { max_1m = 1 }")}`, "W201").at).toBe("1:5");
  });
  it("W202 control without owner", () => {
    expect(find('control "X" { title = "t" load { max_1m = 1 } }', "W202").excerpt).toBe('"X"');
  });
  it("W203 waiver already expired", () => {
    const text = `${inControl("  load { max_1m = 1 }")}waiver "T-1" { reason = "r" approved_by = "j" until = 2026-01-31 }`;
    expect(find(text, "W203").message).toBe('waiver for "T-1" expired on 2026-01-31: deficiencies of the control are no longer waived');
  });
  it("W204 unused context", () => {
    expect(find(`context idle = hour < 6\n${inControl("  load { max_1m = 1 }")}`, "W204").at).toBe("1:9");
  });
  it("W205 waiver about to expire", () => {
    const text = `${inControl("  load { max_1m = 1 }")}waiver "T-1" { reason = "r" approved_by = "j" until = 2026-11-30 }`;
    expect(find(text, "W205").message).toBe('waiver for "T-1" expires in 7 days (2026-11-30)');
  });
  it("W206 is retired: `watch = realtime` on any number of promises, and `every`, check with no diagnostic at all", () => {
    const five = ["a", "b", "c", "d", "e"].map((n, i) => (i % 2 ? `  directory "/srv/${n}" { mode = 0750 watch = realtime every = 1m }` : `  file "/srv/${n}" { mode = 0640 watch = realtime }`)).join("\n");
    const r = checkText({ "p.promise": inControl(`  every = 10m\n${five}`) });
    expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
    expect(r.policy!.controls[0]!.promises.map((p) => p.attributes["watch"])).toEqual(Array(5).fill("realtime"));
    expect(checkText({ "p.promise": inControl('  file "/srv/a" { mode = 0640 watch = scheduled }') }).diagnostics).toEqual([]);
  });

  it("warnings alone do not block the policy", () => {
    const r = checkText({ "p.promise": `let spare = 3\n${inControl("  load { max_1m = 1 }")}` });
    expect(r.policy).toBeDefined();
  });
});

describe("all errors at once", () => {
  it("reports every problem of a policy in one run, in file order", () => {
    const text = inControl('  fiel "/a" { mode = 0640 }\n  file "/b" { mode = 0999 mdoe = 1 }\n  service "x" -> [nobody] { state = runing }');
    const codes = diagnose(text).map((d) => d.split(" ")[1]);
    expect(codes).toEqual(["E100", "E103", "E101", "E113", "E103"]);
  });
});

describe("typed policy", () => {
  it("produces typed values", () => {
    const r = checkText({
      "p.promise": inControl('  file "/srv/a" { mode = 0640 max_size = 10MB max_age = 2h }\n  connections [5432, 1433] { sources = ["10.0.0.0/8", 192.168.1.0/24] }'),
    });
    expect(r.diagnostics).toEqual([]);
    const [file, conn] = r.policy!.controls[0]!.promises;
    expect(file!.attributes).toEqual({ mode: 0o640, max_size: 10_000_000, max_age: 7_200_000 });
    expect(conn!.promiser).toEqual([5432, 1433]);
    expect(conn!.attributes["sources"]).toEqual(["10.0.0.0/8", "192.168.1.0/24"]);
  });
});
