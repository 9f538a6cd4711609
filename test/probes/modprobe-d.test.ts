import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { below, listConfFiles } from "../../src/probes/conf-dirs.ts";
import { installRule, modprobeDirs, parse, parseCmdline, parseModulesLoad, read, ruleNames, type ModprobeRule } from "../../src/probes/modprobe-d.ts";
import { ensureDebianTool } from "../helpers/debian-package.ts";

const root = resolve("test/fixtures/roots/kmod-cis");
const proc = "test/fixtures/proc/kmod-desktop";

// the tools compared with are installed from Debian when missing, so that the comparisons run
const modprobeMissing = ensureDebianTool("modprobe", "kmod");
const systemdAnalyzeMissing = ensureDebianTool("systemd-analyze", "systemd");
const skipped = (why: string | undefined) => (why ? ` (skipped: ${why})` : "");

/** Rules as `modprobe --showconfig` prints them (blacklists, installs, removes, aliases, options; each in file order). */
function showconfig(rules: ModprobeRule[]): string[] {
  const out: string[] = [];
  for (const kind of ["blacklist", "install", "remove", "alias", "options"] as const) {
    for (const r of rules) {
      if (r.kind !== kind) continue;
      if (r.kind === "blacklist") out.push(`blacklist ${r.module}`);
      else if (r.kind === "install" || r.kind === "remove") out.push(`${r.kind} ${r.module} ${r.command}`);
      else if (r.kind === "alias") out.push(`alias ${r.alias} ${r.module}`);
      else if (r.kind === "options") out.push(`options ${r.module} ${r.options}`);
    }
  }
  return out;
}

describe("modprobe-d probe", () => {
  it("reads each rule with its file and line, `-` as `_`, continuations joined", () => {
    const r = parse("install usb-storage /bin/true\n# comment\nblacklist usb-storage\noptions nf-conntrack a=1 \\\n b=2\nsoftdep x pre: a-b post: c\nalias net-pf-132 sctp\nremove y /bin/echo hi\n", "/etc/modprobe.d/x.conf");
    expect(r.skipped).toEqual([]);
    expect(r.rules).toEqual([
      { kind: "install", module: "usb_storage", command: "/bin/true", path: "/etc/modprobe.d/x.conf", line: 1 },
      { kind: "blacklist", module: "usb_storage", path: "/etc/modprobe.d/x.conf", line: 3 },
      { kind: "options", module: "nf_conntrack", options: "a=1  b=2", path: "/etc/modprobe.d/x.conf", line: 4 },
      { kind: "softdep", module: "x", pre: ["a_b"], post: ["c"], path: "/etc/modprobe.d/x.conf", line: 6 },
      { kind: "alias", alias: "net_pf_132", module: "sctp", path: "/etc/modprobe.d/x.conf", line: 7 },
      { kind: "remove", module: "y", command: "/bin/echo hi", path: "/etc/modprobe.d/x.conf", line: 8 },
    ]);
  });

  it("passes over what kmod ignores, and says why", () => {
    const r = parse("  # indented\nbogus x\ninclude /etc/other\nblacklist\ninstall cramfs \n", "/f.conf");
    expect(r.rules).toEqual([]);
    expect(r.skipped.map((s) => [s.line, s.reason])).toEqual([
      [1, "not a modprobe.d rule: `#`"],
      [2, "not a modprobe.d rule: `bogus`"],
      [3, "`include` is no longer read by modprobe (kmod)"],
      [4, "`blacklist` needs a module"],
      [5, "`install` needs a module and a command"],
    ]);
  });

  it("reads the directories as kmod does: /etc hides the same name in /usr/lib, files by name, only *.conf", () => {
    const c = read(below(root), proc);
    const files = [...new Set(c.rules.map((r) => r.path))];
    expect(files).toEqual(["/etc/modprobe.d/00-site.conf", "/etc/modprobe.d/cis.conf", "/usr/lib/modprobe.d/fbdev-blacklist.conf", "/run/modprobe.d/tipc.conf", "/proc/cmdline"]);
    expect(c.shadowed.map((f) => [f.path, f.shadowedBy])).toEqual([["/usr/lib/modprobe.d/cis.conf", "/etc/modprobe.d/cis.conf"]]);
    // the first install rule naming sctp is the one modprobe runs
    expect(installRule(c, "sctp")).toMatchObject({ command: "/sbin/modprobe --ignore-install sctp", path: "/etc/modprobe.d/00-site.conf", line: 2 });
    expect(installRule(c, "usb_storage")).toMatchObject({ command: "/bin/false", path: "/etc/modprobe.d/cis.conf", line: 5 });
    expect(installRule(c, "hfs")).toBeUndefined(); // only in the hidden file
    expect(installRule(c, "udf")).toBeUndefined(); // only in a file not named *.conf
    expect(c.rules.filter((r) => r.kind === "blacklist").map((r) => r.module)).toEqual(["cramfs", "dccp", "tdfxfb", "firewire_core", "thunderbolt"]);
    expect(c.bootLoads.map((l) => [l.module, l.path, l.line])).toEqual([
      ["freevxfs", "/etc/modules-load.d/backup.conf", 3],
      ["jffs2", "/etc/modules", 1],
      ["dm_crypt", "/proc/cmdline", 1],
    ]);
    expect(c.skipped).toEqual([{ path: "/etc/modprobe.d/cis.conf", line: 6, reason: "not a modprobe.d rule: `#`" }]);
  });

  it("reads Debian's /etc/modules once when modules-load.d links to it", () => {
    const r = mkdtempSync(join(tmpdir(), "cvt-modprobe-d-"));
    mkdirSync(join(r, "etc", "modules-load.d"), { recursive: true });
    writeFileSync(join(r, "etc", "modules"), "# /etc/modules\nloop\n");
    symlinkSync("../modules", join(r, "etc", "modules-load.d", "modules.conf"));
    expect(read(below(r), proc).bootLoads.filter((l) => l.path !== "/proc/cmdline")).toEqual([{ module: "loop", path: "/etc/modules-load.d/modules.conf", line: 2 }]);
  });

  it("reads the command line's blacklist and modules to load", () => {
    const c = parseCmdline("ro modprobe.blacklist=a-b,c rd.modules_load=x modules-load=y,z quiet");
    expect(c.blacklist.map((r) => r.kind === "blacklist" && r.module)).toEqual(["a_b", "c"]);
    expect(c.load.map((l) => l.module)).toEqual(["x", "y", "z"]);
    expect(parseModulesLoad("# c\n; c\n\n usb-storage \n", "/f")).toEqual([{ module: "usb_storage", path: "/f", line: 4 }]);
  });

  it("matches rules written as fnmatch patterns", () => {
    expect(ruleNames("snd_*", "snd_hda_intel")).toBe(true);
    expect(ruleNames("snd_[ab]x", "snd_bx")).toBe(true);
    expect(ruleNames("snd_[!ab]x", "snd_bx")).toBe(false);
    expect(ruleNames("usb_storage", "usb_storage")).toBe(true);
    expect(ruleNames("usb.storage", "usb_storage")).toBe(false);
  });

  it("takes any spelling of a name with `-` or `_` as one module", () => {
    const name = fc.array(fc.constantFrom("a", "b", "1", "-", "_"), { minLength: 1, maxLength: 12 }).map((cs) => "m" + cs.join(""));
    fc.assert(
      fc.property(name, (n) => {
        const other = n.replace(/[-_]/g, (c) => (c === "-" ? "_" : "-"));
        const a = parse(`install ${n} /bin/false\n`, "/a.conf").rules[0]!;
        const b = parse(`blacklist ${other}\n`, "/b.conf").rules[0]!;
        expect(a.module).toBe(b.module);
      }),
    );
  });

  it("joins continued lines and never throws, whatever the text", () => {
    fc.assert(fc.property(fc.string(), (s) => void parse(s, "/x.conf")));
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z=0-9]{1,8}$/), { minLength: 1, maxLength: 5 }), (opts) => {
        const r = parse(`options m ${opts.join(" \\\n")}\n`, "/x.conf");
        expect(r.rules).toEqual([expect.objectContaining({ kind: "options", module: "m", options: opts.join(" ") })]);
      }),
    );
  });

  it.skipIf(systemdAnalyzeMissing !== undefined)(`lists files in the order and precedence systemd-analyze cat-config shows${skipped(systemdAnalyzeMissing)}`, () => {
    const out = execFileSync("systemd-analyze", ["cat-config", `--root=${root}`, "modprobe.d"], { encoding: "utf8" });
    const theirs = out.split("\n").filter((l) => l.startsWith("# /")).map((l) => l.slice(2 + root.length));
    // systemd reads no /lib of its own on a merged-/usr system
    const ours = listConfFiles(modprobeDirs.filter((d) => !d.startsWith("/lib/")), below(root), (n) => n.endsWith(".conf")).applied.map((f) => f.path);
    expect(ours).toEqual(theirs);
  });

  it.skipIf(modprobeMissing !== undefined)(`reads the rules of a directory as \`modprobe -C DIR --showconfig\` does${skipped(modprobeMissing)}`, () => {
    const dir = `${root}/etc/modprobe.d`;
    const shown = execFileSync("modprobe", ["-C", dir, "--showconfig"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n");
    const listing = listConfFiles(["/etc/modprobe.d"], below(root), (n) => n.endsWith(".conf"));
    const rules = listing.applied.flatMap((f) => parse(f.text, f.path).rules);
    const mine = showconfig(rules);
    const modules = new Set(rules.map((r) => r.module));
    // options of the running kernel's command line are printed too: only ours are compared
    const theirs = shown.filter((l) => /^(blacklist|install|remove) /.test(l) || (/^(alias|options) /.test(l) && modules.has(l.split(" ")[l.startsWith("alias") ? 2 : 1]!)));
    expect(mine).toEqual(theirs);
  });

  it.skipIf(modprobeMissing !== undefined)(`agrees with \`modprobe --showconfig\` on the live host's blacklists and install rules${skipped(modprobeMissing)}`, () => {
    const shown = execFileSync("modprobe", ["--showconfig"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n");
    const c = read(below(undefined), "/proc");
    expect(showconfig(c.rules.filter((r) => r.kind === "blacklist" || r.kind === "install" || r.kind === "remove"))).toEqual(shown.filter((l) => /^(blacklist|install|remove) /.test(l)));
  });
});
