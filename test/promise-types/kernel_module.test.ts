import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { ownModprobeFile } from "../../src/evaluator/promise-types/kernel_module.ts";
import { evaluateOne, type EvaluateOptions } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("kernel_module", {
  valid: ['kernel_module "cramfs" { prevented = true blacklisted = true repair = [prevent, unload] }', 'kernel_module "nf_conntrack" { loaded = true }'],
  invalid: [
    { promise: 'kernel_module "cramfs" { }', code: "E104", message: /At least one of `loaded`, `prevented`, `blacklisted`|at least one/i },
    { promise: 'kernel_module "../cramfs" { loaded = false }', code: "E103", message: /a module name/ },
    { promise: 'kernel_module "-r" { loaded = false }', code: "E103" },
    { promise: 'kernel_module "cramfs" { prevented = true repair = load }', code: "E103" },
  ],
});

// Never the host's modules: a fixture /proc (modules, cmdline) and a copy of a configuration
// root, read and repaired as a sandbox's; unloading goes to a stand-in modprobe.
let dir = "";
let root = "";
let proc = "";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cvt-kmod-"));
  root = join(dir, "root");
  proc = join(dir, "proc");
  cpSync("test/fixtures/roots/kmod-cis", root, { recursive: true });
  cpSync("test/fixtures/proc/kmod-desktop", proc, { recursive: true });
});

const opts = (extra: EvaluateOptions = {}): EvaluateOptions => ({ roots: { proc, etc: join(root, "etc") }, filesRoot: root, confineTo: root, ...extra });

/** A stand-in modprobe: records its argv; `-r` takes the module out of the fixture's /proc/modules, or fails as the real one does for a module in use. */
function standInModprobe(inUse = false): { program: string; argv: () => string } {
  const program = join(dir, "modprobe");
  const log = join(dir, "modprobe.argv");
  const body = inUse
    ? `echo "modprobe: FATAL: Module $3 is in use." >&2\nexit 1`
    : `grep -v "^$3 " "${proc}/modules" > "${proc}/modules.new"; mv "${proc}/modules.new" "${proc}/modules"`;
  writeFileSync(program, `#!/bin/sh\necho "$@" > "${log}"\n${body}\n`);
  chmodSync(program, 0o755);
  return { program, argv: () => readFileSync(log, "utf8").trim() };
}

describe("kernel_module behaviour", () => {
  it("is kept when an install rule runs /bin/false or /bin/true instead, and the module is not loaded", async () => {
    expect(await evaluateOne('kernel_module "tipc" { loaded = false prevented = true }', opts())).toMatchObject({ outcome: "kept" });
    // `usb-storage` and `usb_storage` are one module; /usr/lib's jffs2 rule counts (the module is listed to load at boot only in /etc/modules: see below)
    expect(await evaluateOne('kernel_module "usb-storage" { prevented = true }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('kernel_module "cramfs" { prevented = true blacklisted = true }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('kernel_module "nf-conntrack" { loaded = true prevented = false blacklisted = false }', opts())).toMatchObject({ outcome: "kept" });
  });

  it("reports a module only blacklisted as that, not as prevented", async () => {
    const r = await evaluateOne('kernel_module "dccp" { prevented = true }', opts());
    expect(r).toMatchObject({
      outcome: "drift",
      differences: [{ attribute: "prevented", expected: "true", observed: "false" }],
      reason: expect.stringContaining("nothing prevents modprobe from loading dccp: no `install dccp /bin/false` rule in /etc/modprobe.d, /run/modprobe.d, /usr/local/lib/modprobe.d, /usr/lib/modprobe.d, /lib/modprobe.d; it is only blacklisted (/etc/modprobe.d/cis.conf:7), which stops loading for an alias, not `modprobe dccp`"),
    });
    expect(await evaluateOne('kernel_module "dccp" { blacklisted = true }', opts())).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('kernel_module "firewire-core" { blacklisted = true }', opts())).toMatchObject({ outcome: "kept" }); // modprobe.blacklist= on the command line
  });

  it("drifts where modprobe runs the first install rule, which is not /bin/false", async () => {
    expect(await evaluateOne('kernel_module "sctp" { prevented = true }', opts())).toMatchObject({
      outcome: "drift",
      reason: "modprobe runs `/sbin/modprobe --ignore-install sctp` for sctp (/etc/modprobe.d/00-site.conf:2), not /bin/false or /bin/true; the rule at /etc/modprobe.d/cis.conf:8 comes later and is not used (modprobe runs the first)",
    });
  });

  it("drifts where the module is listed to be loaded at boot, or loaded, or not as promised", async () => {
    expect(await evaluateOne('kernel_module "freevxfs" { prevented = true }', opts())).toMatchObject({ outcome: "drift", reason: "freevxfs is listed to be loaded at boot at /etc/modules-load.d/backup.conf:3" });
    expect(await evaluateOne('kernel_module "usb_storage" { loaded = false }', opts())).toMatchObject({
      outcome: "drift",
      reason: "usb_storage is loaded (used by uas)",
      differences: [{ attribute: "loaded", expected: "false", observed: "true" }],
    });
    expect(await evaluateOne('kernel_module "rds" { loaded = true }', opts())).toMatchObject({ outcome: "drift", reason: "rds is not loaded" });
    expect(await evaluateOne('kernel_module "cramfs" { prevented = false }', opts())).toMatchObject({ outcome: "drift", reason: "modprobe is prevented from loading cramfs: /etc/modprobe.d/cis.conf:2 runs `/bin/false` instead" });
    expect(await evaluateOne('kernel_module "tipc" { blacklisted = true }', opts())).toMatchObject({ outcome: "drift", reason: "no `blacklist tipc` rule" });
    expect(await evaluateOne('kernel_module "dccp" { blacklisted = false }', opts())).toMatchObject({ outcome: "drift", reason: "dccp is blacklisted at /etc/modprobe.d/cis.conf:7" });
  });

  it("writes a modprobe.d file of its own, read before the others, and is kept afterwards", async () => {
    const r = await evaluateOne('kernel_module "sctp" { prevented = true blacklisted = true repair = prevent }', opts());
    const own = join(root, ownModprobeFile.path("sctp"));
    expect(r).toMatchObject({ outcome: "repaired" });
    expect(r.changes).toEqual([expect.objectContaining({ status: "applied", description: `write ${own} (mode 0644, 3 lines)` })]);
    expect(readFileSync(own, "utf8")).toBe(ownModprobeFile.content("sctp"));
    expect(readFileSync(own, "utf8")).toMatch(/^install sctp \/bin\/false\nblacklist sctp\n$/m);
    expect(await evaluateOne('kernel_module "sctp" { prevented = true blacklisted = true repair = prevent }', opts())).toMatchObject({ outcome: "kept", changes: [] });
  });

  it("writes only the rule a promise asks for", async () => {
    const r = await evaluateOne('kernel_module "sctp" { prevented = false blacklisted = true repair = prevent }', opts());
    expect(r).toMatchObject({ outcome: "repaired" });
    expect(readFileSync(join(root, ownModprobeFile.path("sctp")), "utf8")).toBe(ownModprobeFile.content("sctp", { install: false, blacklist: true }));
    expect(readFileSync(join(root, ownModprobeFile.path("sctp")), "utf8")).not.toContain("install");
  });

  it("creates /etc/modprobe.d when there is none", async () => {
    rmSync(join(root, "etc", "modprobe.d"), { recursive: true });
    const r = await evaluateOne('kernel_module "dccp" { prevented = true repair = prevent }', opts());
    expect(r).toMatchObject({ outcome: "repaired" });
    expect(r.changes.map((c) => c.change.op)).toEqual(["mkdir", "write"]);
  });

  it("fails when its file cannot prevent what another asks for, and says what is left", async () => {
    const r = await evaluateOne('kernel_module "freevxfs" { prevented = true blacklisted = true repair = prevent }', opts());
    expect(r).toMatchObject({ outcome: "failed", reason: expect.stringContaining("freevxfs is listed to be loaded at boot at /etc/modules-load.d/backup.conf:3") });
  });

  it("fails, writing nothing through it, when its file's path is a link", async () => {
    const target = join(dir, "elsewhere.conf");
    writeFileSync(target, "# someone else's\n");
    symlinkSync(target, join(root, ownModprobeFile.path("dccp")));
    const r = await evaluateOne('kernel_module "dccp" { prevented = true repair = prevent }', opts());
    expect(r).toMatchObject({ outcome: "failed", reason: expect.stringMatching(/repair failed: write .*00-covenant-dccp\.conf.*is a symbolic link/) });
    expect(readFileSync(target, "utf8")).toBe("# someone else's\n");
  });

  it("unloads with `modprobe -r` only when `repair = unload` says so", async () => {
    const modprobe = standInModprobe();
    expect(await evaluateOne('kernel_module "usb-storage" { loaded = false repair = prevent }', opts({ modprobe: modprobe.program }))).toMatchObject({ outcome: "drift", changes: [] });
    const r = await evaluateOne('kernel_module "usb-storage" { loaded = false repair = unload }', opts({ modprobe: modprobe.program, confineTo: undefined }));
    expect(r).toMatchObject({ outcome: "repaired", reason: "usb_storage is loaded (used by uas); fixed: modprobe -r usb_storage" });
    expect(modprobe.argv()).toBe("-r -- usb_storage");
  });

  it("fails when modprobe refuses to unload", async () => {
    const modprobe = standInModprobe(true);
    const r = await evaluateOne('kernel_module "usb_storage" { loaded = false repair = unload }', opts({ modprobe: modprobe.program, confineTo: undefined }));
    expect(r).toMatchObject({ outcome: "failed", reason: expect.stringContaining("modprobe: FATAL: Module usb_storage is in use.") });
  });

  it("holds an unload in a sandbox, and plans it in a dry run", async () => {
    const modprobe = standInModprobe();
    const held = await evaluateOne('kernel_module "usb_storage" { loaded = false repair = unload }', opts({ modprobe: modprobe.program }));
    expect(held.changes).toEqual([expect.objectContaining({ status: "held" })]);
    const planned = await evaluateOne('kernel_module "usb_storage" { loaded = false prevented = true repair = [prevent, unload] }', opts({ modprobe: modprobe.program, dryRun: true, confineTo: undefined }));
    expect(planned).toMatchObject({ outcome: "drift" });
    expect(planned.changes.map((c) => [c.change.op, c.status])).toEqual([["modprobe-remove", "planned"]]);
  });

  it("is an error when whether it is loaded cannot be seen", async () => {
    mkdirSync(join(dir, "noproc"));
    expect(await evaluateOne('kernel_module "cramfs" { loaded = false }', opts({ roots: { proc: join(dir, "noproc"), etc: "/etc" } }))).toMatchObject({
      outcome: "error",
      reason: `cannot tell whether cramfs is loaded: ${join(dir, "noproc", "modules")} does not exist: this kernel has no loadable modules, or /proc is not the host's`,
    });
  });
});
