// sshd_config as sshd reads it: checked on fixtures, and against `sshd -T -f FILE` itself (Debian's
// openssh-server, installed when missing without starting the daemon; the test is skipped, saying
// why, only where it cannot be installed or sshd cannot run -T). No sshd is ever started to listen.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { parse, tokenize } from "../../src/config-formats/sshd.ts";
import { defaultFormatOptions } from "../../src/config-formats/index.ts";
import { readConfig } from "../../src/probes/config-files.ts";
import { ensureDebianTool } from "../helpers/debian-package.ts";

describe("sshd format", () => {
  it("reads keywords in any case, `=` or blanks before the value, quotes, and comments where an argument starts", () => {
    expect(tokenize("  PermitRootLogin=no")).toMatchObject({ keyword: "PermitRootLogin", args: ["no"] });
    expect(tokenize('Banner "/etc/issue net"  # why')).toMatchObject({ args: ["/etc/issue net"] });
    expect(tokenize("AllowUsers a#b c")).toMatchObject({ args: ["a#b", "c"] });
    expect(tokenize("# PermitRootLogin yes")).toBeUndefined();
    expect(tokenize("PermitRootLogin")).toMatch(/no argument/);
    expect(tokenize('Banner "/x')).toMatch(/unterminated/);
    const p = parse("Port 22\nMatch User x\n  PermitTTY no\nMatch all\nPermitTTY yes\n", "/f");
    expect(p.firstBlockLine).toBe(2);
    expect(p.settings.map((s) => [s.key, s.value, s.block])).toEqual([
      ["port", "22", undefined],
      ["permittty", "no", "Match User x"],
      ["permittty", "yes", "Match all"],
    ]);
  });

  it("reads Include in its place, relative to /etc/ssh, sorted, inside the Match it is in", () => {
    const root = mkdtempSync(join(tmpdir(), "cvt-sshd-"));
    mkdirSync(join(root, "etc/ssh/d"), { recursive: true });
    writeFileSync(join(root, "etc/ssh/sshd_config"), "Include d/*.conf\nMaxAuthTries 6\nMatch User y\nInclude d/m\n");
    writeFileSync(join(root, "etc/ssh/d/b.conf"), "MaxAuthTries 3\n");
    writeFileSync(join(root, "etc/ssh/d/a.conf"), "LoginGraceTime 30\n");
    writeFileSync(join(root, "etc/ssh/d/m"), "X11Forwarding yes\n");
    const r = readConfig("/etc/ssh/sshd_config", "sshd", defaultFormatOptions, (p) => join(root, p));
    if ("error" in r) throw new Error(r.error);
    expect(r.settings.map((s) => [s.path, s.key, s.value, s.block])).toEqual([
      ["/etc/ssh/d/a.conf", "logingracetime", "30", undefined],
      ["/etc/ssh/d/b.conf", "maxauthtries", "3", undefined],
      ["/etc/ssh/sshd_config", "maxauthtries", "6", undefined],
      ["/etc/ssh/d/m", "x11forwarding", "yes", "Match User y"],
    ]);
  });

  it("stops at sshd's limit of nested Includes", () => {
    const root = mkdtempSync(join(tmpdir(), "cvt-sshd-"));
    mkdirSync(join(root, "etc/ssh"), { recursive: true });
    writeFileSync(join(root, "etc/ssh/sshd_config"), "Include sshd_config\n");
    const r = readConfig("/etc/ssh/sshd_config", "sshd", defaultFormatOptions, (p) => join(root, p));
    expect("error" in r ? [] : r.skipped.map((s) => s.reason)).toEqual([expect.stringMatching(/more than 16 deep/)]);
  });
});

const sshdProgram = "/usr/sbin/sshd";
const privsepDir = "/run/sshd";
/** whether this file made sshd's privilege-separation directory (then removed in afterAll) */
let madePrivsepDir = false;
/**
 * undefined when `sshd -T` runs here, else why not. It needs host keys (the package's postinst
 * makes them) and its privilege-separation directory, which Debian's init script makes when it
 * starts the server; the server is not started here, so the directory is made as that script
 * does. -T only prints the configuration and exits.
 */
function sshdCannotRun(): string | undefined {
  const missing = ensureDebianTool(sshdProgram, "openssh-server");
  if (missing) return missing;
  if (!existsSync(privsepDir) && process.getuid?.() === 0) {
    mkdirSync(privsepDir, { mode: 0o755 });
    chmodSync(privsepDir, 0o755);
    madePrivsepDir = true;
  }
  const dir = mkdtempSync(join(tmpdir(), "cvt-sshd-t-"));
  writeFileSync(join(dir, "c"), "Port 22\n");
  try {
    execFileSync(sshdProgram, ["-T", "-f", join(dir, "c")], { stdio: "pipe" });
    return undefined;
  } catch (err) {
    return `sshd -T cannot run here: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const sshdSkip = sshdCannotRun();
afterAll(() => {
  if (madePrivsepDir) rmdirSync(privsepDir); // empty: sshd -T puts nothing there
});
const skipped = sshdSkip ? ` (skipped: ${sshdSkip})` : "";

// single-valued keywords sshd -T prints as written, with values it keeps as they are (not
// `prohibit-password`, which it prints as its older name `without-password`)
const keywords: [string, string[]][] = [
  ["PermitRootLogin", ["yes", "no", "forced-commands-only"]],
  ["MaxAuthTries", ["3", "4", "6"]],
  ["LoginGraceTime", ["30", "60", "120"]],
  ["X11Forwarding", ["yes", "no"]],
  ["ClientAliveInterval", ["0", "300"]],
  ["Banner", ["/etc/issue.net", "none"]],
];
const spelling = (k: string) => fc.constantFrom(k, k.toLowerCase(), k.toUpperCase());
// LoginGraceTime (the second) is not allowed in a Match block
const settingLine = (inMatch = false) =>
  fc
  .tuple(fc.constantFrom(...keywords.keys()).filter((k) => !inMatch || k !== 2), fc.nat(3), fc.constantFrom(" ", "\t", "=", " = ", "  "), fc.constantFrom("", "  # note", " #x"), fc.constantFrom("", "  "), fc.boolean())
  .chain(([k, v, sep, comment, indent, quoted]) => {
    const [kw, values] = keywords[k]!;
    const value = values[v % values.length]!;
    return spelling(kw).map((w) => `${indent}${w}${sep}${quoted ? `"${value}"` : value}${comment}`);
  });
const configText = fc
  .tuple(fc.array(fc.oneof(settingLine(), settingLine(), fc.constantFrom("", "# comment", "  #PermitRootLogin yes")), { maxLength: 10 }), fc.option(fc.array(settingLine(true), { maxLength: 3 }), { nil: undefined }))
  .map(([global, block]) => [...global, ...(block ? ["Match User backup", ...block] : [])].join("\n") + "\n");

describe.skipIf(sshdSkip !== undefined)(`sshd format against \`sshd -T\`${skipped}`, () => {
  it("takes the value sshd takes for every keyword set outside Match blocks (first one wins)", () => {
    const dir = mkdtempSync(join(tmpdir(), "cvt-sshd-live-"));
    fc.assert(
      fc.property(configText, (text) => {
        const file = join(dir, "sshd_config");
        writeFileSync(file, text);
        const effective = new Map<string, string>();
        for (const line of execFileSync(sshdProgram, ["-T", "-f", file], { encoding: "utf8" }).split("\n")) {
          const sp = line.indexOf(" ");
          if (sp > 0) effective.set(line.slice(0, sp), line.slice(sp + 1));
        }
        const ours = parse(text, file).settings.filter((s) => s.block === undefined);
        for (const [kw] of keywords) {
          const first = ours.find((s) => s.key === kw.toLowerCase());
          if (first) expect(effective.get(kw.toLowerCase()), `${kw} in:\n${text}`).toBe(first.value);
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe.skipIf(sshdSkip !== undefined)(`config repairs as \`sshd -T\` reads them${skipped}`, () => {
  it("judges the fixture as sshd does, and sshd reads the repaired file as promised", async () => {
    const { evaluateOne } = await import("../helpers/evaluate.ts");
    const { cpSync, readFileSync } = await import("node:fs");
    const dir = mkdtempSync(join(tmpdir(), "cvt-sshd-repair-"));
    cpSync("test/fixtures/roots/config-cis/etc/ssh", dir, { recursive: true });
    const file = join(dir, "sshd_config");
    writeFileSync(file, readFileSync(file, "utf8").replace("/etc/ssh/sshd_config.d/", `${dir}/sshd_config.d/`));
    const effective = () => new Map(execFileSync(sshdProgram, ["-T", "-f", file], { encoding: "utf8" }).split("\n").map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)] as [string, string]));
    const before = effective();
    for (const [key, value] of [["PermitRootLogin", "yes"], ["MaxAuthTries", "4"], ["PermitEmptyPasswords", "no"], ["ClientAliveInterval", "300"], ["Banner", "/etc/issue.net"], ["LoginGraceTime", "60"]]) {
      expect(before.get(key!.toLowerCase())).toBe(value);
      expect(await evaluateOne(`config "${file}" { format = sshd key = "${key}" equals = "${value}" }`)).toMatchObject({ outcome: "kept" });
    }
    expect(await evaluateOne(`config "${file}" { format = sshd key = "PermitRootLogin" equals = "no" repair = set }`)).toMatchObject({ outcome: "repaired" });
    expect(await evaluateOne(`config "${file}" { format = sshd key = "ClientAliveCountMax" equals = 2 repair = set }`)).toMatchObject({ outcome: "repaired" });
    expect(await evaluateOne(`config "${file}" { format = sshd key = "ClientAliveInterval" at_most = 120 repair = set }`)).toMatchObject({ outcome: "repaired" });
    const after = effective();
    expect([after.get("permitrootlogin"), after.get("clientalivecountmax"), after.get("clientaliveinterval")]).toEqual(["no", "2", "120"]);
    const backup = new Map(execFileSync(sshdProgram, ["-T", "-f", file, "-C", "user=backup,host=h,addr=127.0.0.1"], { encoding: "utf8" }).split("\n").map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)] as [string, string]));
    expect(backup.get("passwordauthentication")).toBe("yes");
    expect(await evaluateOne(`config "${file}" { format = sshd key = "PasswordAuthentication" equals = "no" repair = set }`)).toMatchObject({ outcome: "repaired" });
    const repairedBackup = new Map(execFileSync(sshdProgram, ["-T", "-f", file, "-C", "user=backup,host=h,addr=127.0.0.1"], { encoding: "utf8" }).split("\n").map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)] as [string, string]));
    expect(repairedBackup.get("passwordauthentication")).toBe("no");
  });
});
