// sudoers Defaults and includes as sudo reads them; checked with `visudo -c -f` (Debian's sudo,
// installed when missing; skipped only where it cannot be, saying why).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { insertLine, replaceValue } from "../../src/config-formats/edit.ts";
import { defaultFormatOptions, spanText } from "../../src/config-formats/index.ts";
import { parse, render } from "../../src/config-formats/sudoers.ts";
import { readConfig } from "../../src/probes/config-files.ts";
import { ensureDebianTool } from "../helpers/debian-package.ts";

const root = "test/fixtures/roots/config-cis";
const visudo = existsSync("/usr/bin/visudo") ? "/usr/bin/visudo" : "/usr/sbin/visudo"; // some distributions, Debian
const visudoMissing = ensureDebianTool(visudo, "sudo");

describe("sudoers format", () => {
  it("reads Defaults parameters: flags, negated flags, values in quotes, and bound Defaults as blocks", () => {
    const p = parse('Defaults env_reset, !use_pty ,logfile = "/var/log/sudo, x.log"\nDefaults:%wheel !requiretty\nDefaults env_keep += "LANG"\nroot ALL=(ALL) ALL\n# Defaults use_pty\n', "/etc/sudoers");
    expect(p.settings.map((s) => [s.key, s.value, s.block, s.fixed ?? false])).toEqual([
      ["env_reset", "true", undefined, false],
      ["use_pty", "false", undefined, false],
      ["logfile", "/var/log/sudo, x.log", undefined, false],
      ["requiretty", "false", "Defaults:%wheel", false],
      ["env_keep", "LANG", undefined, true],
    ]);
  });

  it("reads a Defaults line continued with `\\`: each setting at the physical line and column its value starts on, never edited", () => {
    const text = 'Defaults env_reset, \\\n  timestamp_timeout=5, \\\n  !use_pty\nDefaults umask=077\n';
    const lines = text.split("\n");
    const p = parse(text, "/etc/sudoers");
    expect(p.settings.map((s) => [s.key, s.value, s.line, lines[s.line - 1]!.slice(s.valueStart, s.valueEnd), s.fixed ?? false])).toEqual([
      ["env_reset", "true", 1, "env_reset", true],
      ["timestamp_timeout", "5", 2, "5", true],
      ["use_pty", "false", 3, "!use_pty", true],
      ["umask", "077", 4, "077", false],
    ]);
  });

  it("reads @includedir's files without `.` or a trailing `~`, in order, and relative includes from the including file's directory", () => {
    const r = readConfig("/etc/sudoers", "sudoers", defaultFormatOptions, (p) => join(root, p));
    if ("error" in r) throw new Error(r.error);
    expect(r.files.map((f) => f.path)).toEqual(["/etc/sudoers", "/etc/sudoers.d/10-logging"]);
    const t = r.settings.filter((s) => s.key === "timestamp_timeout");
    expect(t.map((s) => [s.path, s.line, s.value, s.fixed])).toEqual([["/etc/sudoers.d/10-logging", 2, "15", true]]);
    expect(parse("#include sudoers.local\n@include /etc/x\n", "/etc/sudoers").includes.map((i) => i.patterns[0])).toEqual(["/etc/sudoers.local", "/etc/x"]);
  });

  it("edits a flag as a whole entry and a value in its place", () => {
    const text = "Defaults\tmail_badpass, !use_pty\nDefaults passwd_tries=5\n";
    const [, usePty, tries] = parse(text, "/f").settings;
    expect(replaceValue(text, usePty!, spanText("sudoers", usePty!, "true"))).toBe("Defaults\tmail_badpass, use_pty\nDefaults passwd_tries=5\n");
    expect(replaceValue(text, tries!, spanText("sudoers", tries!, "3"))).toBe("Defaults\tmail_badpass, !use_pty\nDefaults passwd_tries=3\n");
    expect(render("logfile", "/var/log/sudo log")).toBe('Defaults logfile="/var/log/sudo log"');
  });

  it.skipIf(visudoMissing !== undefined)(`writes what visudo -c accepts${visudoMissing ? ` (skipped: ${visudoMissing})` : ""}`, () => {
    const dir = mkdtempSync(join(tmpdir(), "cvt-sudoers-"));
    const file = join(dir, "sudoers");
    const text = "Defaults env_reset, !use_pty\nroot ALL=(ALL:ALL) ALL\n";
    const usePty = parse(text, file).settings[1]!;
    writeFileSync(file, insertLine(replaceValue(text, usePty, spanText("sudoers", usePty, "true")), render("logfile", "/var/log/sudo log")));
    execFileSync(visudo, ["-c", "-f", file], { stdio: "pipe" });
  });
});
