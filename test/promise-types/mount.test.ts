import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { behavioursFor } from "../../src/evaluator/behaviours.ts";
import { mountOf, read } from "../../src/probes/mountinfo.ts";
import { evaluateOne } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("mount", {
  valid: ['mount "/srv/ledger" { fstype = "ext4" source = "/dev/vdb1" forbidden_options = ["exec"] present = true }'],
  invalid: [{ promise: 'mount "/tmp/*" { options = ["nodev"] }', code: "E103", message: /globs are not allowed here/ }],
});

describe("mount behaviour", () => {
  // a proc root holding only a mount table written for the test
  const fixture = mkdtempSync(join(tmpdir(), "covenant-mounts-"));
  mkdirSync(join(fixture, "self"));
  writeFileSync(
    join(fixture, "self", "mountinfo"),
    [
      "21 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw,errors=remount-ro",
      "30 21 254:17 / /srv/ledger rw,nosuid,nodev,relatime - ext4 /dev/vdb1 rw,errors=remount-ro",
      "31 21 0:40 / /tmp rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,size=1048576k,mode=1777",
      // a tmpfs mounted over the ext4 at the same point hides it: the last one is what paths reach
      "32 21 254:18 / /srv/stacked rw,relatime - ext4 /dev/vdc1 rw",
      "33 32 0:41 / /srv/stacked rw,relatime - tmpfs tmpfs rw",
      "",
    ].join("\n"),
  );
  const roots = { proc: fixture, etc: "/etc" };

  it("is kept when the path is a mount point of the promised type, source and options", async () => {
    const r = await evaluateOne(`mount "/srv/ledger" { fstype = "ext4" source = "/dev/vdb1" options = ["nosuid", "nodev", "errors=remount-ro"] forbidden_options = ["ro"] }`, { roots });
    expect([r.outcome, r.reason]).toEqual(["kept", "as promised"]);
  });

  it("reports a missing required option and a forbidden option that is set", async () => {
    const r = await evaluateOne(`mount "/srv/ledger" { options = ["nodev", "noexec"] forbidden_options = ["nosuid"] }`, { roots });
    expect(r.outcome).toBe("drift");
    expect(r.differences).toEqual([
      { subject: "noexec", attribute: "options", expected: "set", observed: "rw,nosuid,nodev,relatime,errors=remount-ro", reason: "/srv/ledger: option noexec is not set (mounted rw,nosuid,nodev,relatime,errors=remount-ro)" },
      { subject: "nosuid", attribute: "forbidden_options", expected: "not set", observed: "rw,nosuid,nodev,relatime,errors=remount-ro", reason: "/srv/ledger: forbidden option nosuid is set (mounted rw,nosuid,nodev,relatime,errors=remount-ro)" },
    ]);
  });

  it("reads the absence of noexec as exec (the kernel prints only the negative flags)", async () => {
    const r = await evaluateOne(`mount "/srv/ledger" { forbidden_options = ["exec", "dev"] }`, { roots });
    expect(r.differences.map((d) => d.reason)).toEqual(["/srv/ledger: forbidden option exec is set (mounted rw,nosuid,nodev,relatime,errors=remount-ro)"]);
    expect((await evaluateOne(`mount "/tmp/" { forbidden_options = ["exec", "suid", "dev"] options = ["mode=1777"] }`, { roots })).outcome).toBe("kept");
  });

  it("reports the file system type and source", async () => {
    const r = await evaluateOne(`mount "/srv/ledger" { fstype = "xfs" source = "/dev/vdc1" }`, { roots });
    expect(r.differences.map((d) => d.reason)).toEqual(["/srv/ledger: file system type is ext4, promised xfs", "/srv/ledger: mounted from /dev/vdb1, promised /dev/vdc1"]);
  });

  it("judges the mount that is visible when mounts are stacked", async () => {
    expect((await evaluateOne(`mount "/srv/stacked" { fstype = "tmpfs" }`, { roots })).outcome).toBe("kept");
  });

  it("requires the path to be exactly a mount point, unless promised absent", async () => {
    const r = await evaluateOne(`mount "/srv/ledger/archive" { fstype = "ext4" }`, { roots });
    expect(r.differences).toEqual([
      { attribute: "present", expected: "a mount point", observed: "not a mount point", reason: "/srv/ledger/archive is not a mount point (it lies on the mount at /srv/ledger)" },
    ]);
    expect((await evaluateOne(`mount "/srv/ledger/archive" { present = false }`, { roots })).outcome).toBe("kept");
    const mounted = await evaluateOne(`mount "/tmp" { present = false }`, { roots });
    expect(mounted.reason).toBe("/tmp is a mount point (tmpfs from tmpfs), promised not to be");
  });

  it("reads the real host's mount table", async () => {
    const kept = await evaluateOne(`mount "/proc" { fstype = "proc" source = "proc" }`);
    expect(kept.outcome).toBe("kept");
    const table = read({ proc: "/proc" });
    if (!table.ok) throw new Error(table.error.message);
    const procOptions = mountOf(table.value, "/proc")!.options;
    const option = procOptions.find((o) => o !== "rw") ?? "rw";
    const drift = await evaluateOne(`mount "/proc" { forbidden_options = ["${option}"] fstype = "ext4" }`);
    expect(drift.differences.map((d) => d.reason)).toEqual(["/proc: file system type is proc, promised ext4", expect.stringMatching(new RegExp(`^/proc: forbidden option ${option} is set \\(mounted `))]);
    const dir = mkdtempSync(join(tmpdir(), "covenant-notmount-"));
    expect((await evaluateOne(`mount "${dir}" { present = true }`)).reason).toMatch(new RegExp(`^${dir} is not a mount point \\(it lies on the mount at /`));
  });

  it("is an error, not `not a mount point`, when the mount table cannot be read", async () => {
    const empty = mkdtempSync(join(tmpdir(), "covenant-noproc-"));
    const r = await evaluateOne(`mount "/tmp" { present = false }`, { roots: { proc: empty, etc: "/etc" } });
    expect(r.outcome).toBe("error");
    expect(r.reason).toBe(`cannot read the mount table: ${join(empty, "self", "mountinfo")} does not exist`);
  });

  it("plans no changes: remounting is left to the operators", async () => {
    expect((await behavioursFor(["mount"])).get("mount")?.repair).toBeUndefined();
    const r = await evaluateOne(`mount "/srv/ledger" { options = ["noexec"] }`, { roots });
    expect([r.outcome, r.changes]).toEqual(["drift", []]);
  });
});
