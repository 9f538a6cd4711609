import { cpSync, linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync, chmodSync, chownSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { ChangeGate } from "../../src/evaluator/change-gate.ts";
import * as textLines from "../../src/probes/lines.ts";
import { evaluateOne, type EvaluateOptions } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";
import { checkText, inControl } from "../helpers/diagnose.ts";

testPromiseType("lines", {
  valid: [
    'lines "/etc/security/limits.conf" { present = ["* hard core 0"] absent = ["\\\\*\\\\s+soft\\\\s+core\\\\s+unlimited"] repair = [append, remove] }',
    'lines "/etc/profile.d/*.sh" { matching = ["umask\\\\s+0?27"] quantifier = at_least_one }',
    'lines "/etc/shadow-notes" { absent = [".*secret.*"] nodiff = true max_size = 1MiB }',
  ],
  invalid: [
    { promise: 'lines "/etc/hosts" { }', code: "E104" },
    { promise: 'lines "/etc/hosts" { present = ["two\\nlines"] }', code: "E103", message: /one line/ },
    { promise: 'lines "/etc/hosts" { absent = ["(a)\\\\1"] }', code: "E103" },
    { promise: 'lines "/etc/hosts" { absent = ["(?=x)"] }', code: "E103" },
    { promise: 'lines "etc/hosts" { present = ["x"] }', code: "E103" },
    { promise: 'lines "/etc/hosts" { present = ["x"] repair = rewrite }', code: "E103" },
    { promise: 'lines "/etc/hosts" { present = ["x"] quantifier = all }', code: "E103" },
  ],
});

// A copy of a fixture root per test, read and repaired as a sandbox's.
let dir = "";
let root = "";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cvt-lines-"));
  root = join(dir, "root");
  cpSync("test/fixtures/roots/lines-cis", root, { recursive: true });
});

const opts = (extra: EvaluateOptions = {}): EvaluateOptions => ({ filesRoot: root, confineTo: root, ...extra });
const at = (p: string) => join(root, p);
const LIMITS = "/etc/security/limits.conf";
const HARD_CORE = "*               hard    core            0";
const SOFT_CORE = "\\\\*\\\\s+soft\\\\s+core\\\\s+unlimited";

describe("lines behaviour", () => {
  it("is kept when the file holds the lines and no forbidden one", async () => {
    expect(await evaluateOne(`lines "/etc/security/limits-hardened.conf" { present = ["${HARD_CORE}"] absent = ["${SOFT_CORE}"] }`, opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('lines "/etc/security/limits.conf" { matching = ["@ledger\\\\s+hard\\\\s+nofile\\\\s+\\\\d+"] }', opts())).toMatchObject({ outcome: "kept" });
  });

  it("drifts on a missing line and a forbidden one, quoting the line and where it is", async () => {
    const r = await evaluateOne(`lines "${LIMITS}" { present = ["${HARD_CORE}"] absent = ["${SOFT_CORE}"] }`, opts());
    expect(r).toMatchObject({ outcome: "drift" });
    expect(r.differences).toEqual([
      expect.objectContaining({ subject: LIMITS, attribute: "present", observed: "missing", reason: `${LIMITS} lacks the line ${JSON.stringify(HARD_CORE)}` }),
      expect.objectContaining({ subject: LIMITS, attribute: "absent", observed: 'line 3: "*               soft    core            unlimited"' }),
    ]);
  });

  it("anchors patterns: a pattern matching part of a line does not match it", async () => {
    expect(await evaluateOne(`lines "${LIMITS}" { absent = ["soft"] }`, opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne(`lines "${LIMITS}" { matching = ["core"] }`, opts())).toMatchObject({ outcome: "drift", reason: `${LIMITS} has no line matching "core"` });
  });

  it("quotes an offending line escaped and cut, and nothing of it with nodiff", async () => {
    const long = `note=${"x".repeat(300)}\u001b[2J\u202e`;
    writeFileSync(at("/etc/app.conf"), `ok\n${long}\nmore secret text\n`);
    const shown = await evaluateOne('lines "/etc/app.conf" { absent = ["note=.*"] }', opts());
    const reason = shown.reason ?? "";
    expect(reason).toContain("line 2: \"note=xxx");
    expect(reason).toContain("…");
    expect(reason).not.toContain("\u001b");
    expect(reason).not.toContain("more secret text");
    const hidden = await evaluateOne('lines "/etc/app.conf" { absent = ["note=.*"] present = ["pin=1234"] nodiff = true }', opts());
    expect(hidden).toMatchObject({ outcome: "drift" });
    expect(JSON.stringify(hidden)).not.toContain("xxxx");
    expect(JSON.stringify(hidden)).not.toContain("1234");
    expect(hidden.reason).toContain("/etc/app.conf lacks line 1 of `present`");
    expect(hidden.differences.map((d) => d.reason)).toContain('/etc/app.conf line 2 matches the forbidden pattern "note=.*"');
  });

  it("masks a secret in a line it quotes", async () => {
    writeFileSync(at("/etc/app.conf"), "db_password = hunter2\n");
    const r = await evaluateOne('lines "/etc/app.conf" { absent = ["db_password.*"] }', opts());
    expect(r.reason).toContain('line 1: "db_password = ****"');
    expect(JSON.stringify(r)).not.toContain("hunter2");
  });

  it("appends missing lines and removes forbidden ones, keeping every other byte, the mode and the owner", async () => {
    const before = "# head\r\nkeep me\n*   soft core unlimited\nalso kept\n* soft core unlimited";
    writeFileSync(at(LIMITS), before);
    chmodSync(at(LIMITS), 0o640);
    chownSync(at(LIMITS), 0, 4);
    const promise = `lines "${LIMITS}" { present = ["${HARD_CORE}", "keep me"] absent = ["${SOFT_CORE}"] repair = [append, remove] }`;
    const r = await evaluateOne(promise, opts());
    expect(r).toMatchObject({ outcome: "repaired" });
    expect(r.changes).toEqual([expect.objectContaining({ status: "applied", description: `edit ${at(LIMITS)}: remove lines 3, 5, append 1 line` })]);
    expect(readFileSync(at(LIMITS), "utf8")).toBe(`# head\r\nkeep me\nalso kept\n${HARD_CORE}\n`);
    const st = statSync(at(LIMITS));
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o640, 0, 4]);
    expect(await evaluateOne(promise, opts())).toMatchObject({ outcome: "kept", changes: [] });
  });

  it("adds a newline before what it appends to a file that does not end with one", async () => {
    writeFileSync(at("/etc/app.conf"), "a\nb");
    expect(await evaluateOne('lines "/etc/app.conf" { present = ["c"] repair = append }', opts())).toMatchObject({ outcome: "repaired" });
    expect(readFileSync(at("/etc/app.conf"), "utf8")).toBe("a\nb\nc\n");
  });

  it("repairs only what `repair` names", async () => {
    const r = await evaluateOne(`lines "${LIMITS}" { present = ["${HARD_CORE}"] absent = ["${SOFT_CORE}"] repair = append }`, opts());
    expect(r).toMatchObject({ outcome: "failed" });
    expect(readFileSync(at(LIMITS), "utf8")).toContain("soft    core            unlimited");
    expect(readFileSync(at(LIMITS), "utf8")).toContain(HARD_CORE);
    expect(await evaluateOne(`lines "${LIMITS}" { absent = ["${SOFT_CORE}"] }`, opts())).toMatchObject({ outcome: "drift", changes: [] });
  });

  it("plans the edit in a dry run and changes nothing", async () => {
    const before = readFileSync(at(LIMITS), "utf8");
    const r = await evaluateOne(`lines "${LIMITS}" { absent = ["${SOFT_CORE}"] repair = remove }`, opts({ dryRun: true }));
    expect(r.changes).toEqual([expect.objectContaining({ status: "planned", description: `edit ${at(LIMITS)}: remove line 3` })]);
    expect(readFileSync(at(LIMITS), "utf8")).toBe(before);
  });

  it("fails, editing nothing through it, when a directory on the file's path is a link", async () => {
    renameSync(at("/etc/security"), at("/etc/security-real"));
    symlinkSync(at("/etc/security-real"), at("/etc/security"));
    const before = readFileSync(at("/etc/security-real/limits.conf"), "utf8");
    const r = await evaluateOne(`lines "${LIMITS}" { absent = ["${SOFT_CORE}"] repair = remove }`, opts());
    expect(r).toMatchObject({ outcome: "failed", reason: expect.stringMatching(/symbolic link/) });
    expect(readFileSync(at("/etc/security-real/limits.conf"), "utf8")).toBe(before);
  });

  it("judges a link where the file is named as no file, and never edits through it", async () => {
    const target = join(dir, "elsewhere.conf");
    writeFileSync(target, "* soft core unlimited\n");
    symlinkSync(target, at("/etc/linked.conf"));
    const r = await evaluateOne('lines "/etc/linked.conf" { absent = ["\\\\*\\\\s+soft.*"] repair = remove }', opts());
    expect(r).toMatchObject({ outcome: "drift", reason: "/etc/linked.conf is a symbolic link (not followed)", changes: [] });
    expect(readFileSync(target, "utf8")).toBe("* soft core unlimited\n");
  });

  it("holds the edit of a file with another hard link", async () => {
    linkSync(at(LIMITS), at("/etc/limits-other-name"));
    const r = await evaluateOne(`lines "${LIMITS}" { absent = ["${SOFT_CORE}"] repair = remove }`, opts());
    expect(r.changes).toEqual([expect.objectContaining({ status: "held", detail: expect.stringContaining("2 hard links") })]);
  });

  it("refuses an edit when the file's content changed since it was observed", async () => {
    const observed = textLines.read(at(LIMITS));
    if (!observed.ok || "notAFile" in observed.value) throw new Error("fixture not read");
    writeFileSync(at(LIMITS), readFileSync(at(LIMITS), "utf8") + "# added meanwhile\n");
    const gate = new ChangeGate({ dryRun: false, confineTo: root });
    const [record] = await gate.apply([{ op: "edit-lines", path: at(LIMITS), expect: observed.value.identity, digest: observed.value.sha256, remove: [3], append: [] }]);
    gate.close();
    expect(record).toMatchObject({ status: "failed", detail: expect.stringContaining("its content changed since it was observed") });
    expect(readFileSync(at(LIMITS), "utf8")).toContain("# added meanwhile");
  });

  it("judges a glob with its quantifier", async () => {
    const umask027 = 'matching = ["umask\\\\s+0?27"]';
    const every = await evaluateOne(`lines "/etc/profile.d/*.sh" { ${umask027} }`, opts());
    expect(every).toMatchObject({ outcome: "drift" });
    expect(every.differences.map((d) => d.subject)).toEqual(["/etc/profile.d/history.sh", "/etc/profile.d/vendor.sh"]);
    expect(await evaluateOne(`lines "/etc/profile.d/*.sh" { ${umask027} quantifier = at_least_one }`, opts())).toMatchObject({ outcome: "kept" });
    const none = await evaluateOne('lines "/etc/profile.d/*.sh" { matching = ["umask\\\\s+0?22"] quantifier = none }', opts());
    expect(none).toMatchObject({ outcome: "drift", differences: [expect.objectContaining({ subject: "/etc/profile.d/vendor.sh", attribute: "quantifier" })] });
    expect(await evaluateOne('lines "/etc/profile.d/*.sh" { matching = ["umask\\\\s+0?77"] quantifier = none }', opts())).toMatchObject({ outcome: "kept" });
  });

  it("edits every file a glob names with `every`, and none with `none`", async () => {
    const r = await evaluateOne('lines "/etc/profile.d/*.sh" { absent = ["umask\\\\s+0?22"] repair = remove }', opts());
    expect(r).toMatchObject({ outcome: "repaired" });
    expect(readFileSync(at("/etc/profile.d/vendor.sh"), "utf8")).toBe("# set by a vendor package\n");
    const n = await evaluateOne('lines "/etc/profile.d/*.sh" { present = ["umask 027"] quantifier = none repair = append }', opts());
    expect(n).toMatchObject({ outcome: "drift", changes: [] });
  });

  it("drifts when a glob matches no file (except with `none`), and when a named file is missing", async () => {
    expect(await evaluateOne('lines "/etc/cron.d/*" { present = ["x"] }', opts())).toMatchObject({ outcome: "drift", reason: "no file matches /etc/cron.d/*" });
    expect(await evaluateOne('lines "/etc/cron.d/*" { present = ["x"] quantifier = none }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('lines "/etc/missing.conf" { present = ["x"] repair = append }', opts())).toMatchObject({ outcome: "drift", reason: "/etc/missing.conf is missing", changes: [] });
  });

  it("is an error when the file is larger than max_size or cannot be read", async () => {
    expect(await evaluateOne(`lines "${LIMITS}" { present = ["x"] max_size = 10B }`, opts())).toMatchObject({ outcome: "error", reason: expect.stringContaining("/etc/security/limits.conf is 183 bytes, more than max_size (10 bytes)") });
    mkdirSync(at("/etc/dir.conf"));
    expect(await evaluateOne('lines "/etc/dir.conf" { present = ["x"] }', opts())).toMatchObject({ outcome: "drift", reason: "/etc/dir.conf is a directory" });
  });

  it("promises on one file about different lines do not contradict; about the same lines, they do (E111)", () => {
    const apart = checkText({ "p.promise": inControl('  lines "/etc/sudoers.d/*" { matching = ["[^#]*NOPASSWD.*"] quantifier = none }\n  lines "/etc/sudoers.d/*" { matching = ["[^#]*!authenticate.*"] quantifier = none }') }).diagnostics;
    expect(apart.filter((x) => x.severity === "error")).toEqual([]);
    const same = checkText({ "p.promise": inControl('  lines "/etc/x" { present = ["a"] quantifier = every }\n  lines "/etc/x" { present = ["a"] quantifier = none }') }).diagnostics;
    expect(same.map((x) => x.code)).toContain("E111");
  });
});

