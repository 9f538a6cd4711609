// The installed packages whichever database the root keeps: dpkg's where its status file is,
// rpm's otherwise (a stand-in rpm prints fixture output), and which ordering judges versions.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { compareVersions, managerOf, read, versionProblem } from "../../src/probes/packages.ts";

describe("packages", () => {
  it("reads dpkg's database where var/lib/dpkg/status exists under the root", () => {
    const root = mkdtempSync(join(tmpdir(), "cvt-packages-"));
    mkdirSync(join(root, "var/lib/dpkg"), { recursive: true });
    copyFileSync("test/fixtures/packages/debian12-status", join(root, "var/lib/dpkg/status"));
    expect(managerOf(root)).toBe("dpkg");
    const r = read(root);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value).toMatchObject({ manager: "dpkg", source: join(root, "var/lib/dpkg/status") });
    expect(r.value.packages.find((p) => p.name === "telnet")).toEqual({ name: "telnet", architecture: "amd64", version: "0.17+2.4-2", status: "config-files", installed: false });
  });

  it("reads rpm's otherwise, and says when neither can be read", () => {
    const root = mkdtempSync(join(tmpdir(), "cvt-packages-"));
    mkdirSync(join(root, "usr/lib/sysimage/rpm"), { recursive: true });
    const rpm = join(root, "rpm");
    writeFileSync(rpm, `#!/bin/sh\ncat '${resolve("test/fixtures/packages/rhel9-rpm-qa.txt")}'\n`);
    chmodSync(rpm, 0o755);
    const r = read(root, { rpm });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.manager).toBe("rpm");
    expect(r.value.source).toBe(`rpm --root ${root} -qa`);
    expect(r.value.packages.find((p) => p.name === "shadow-utils")).toEqual({ name: "shadow-utils", architecture: "x86_64", version: "2:4.9-6.el9", status: "installed", installed: true });
    expect(read(root, { rpm: join(root, "no-rpm") })).toMatchObject({ ok: false, error: { code: "unavailable", message: "rpm is not installed: the rpm database cannot be read" } });
    // without a database of either kind, rpm is not asked at all
    const empty = mkdtempSync(join(tmpdir(), "cvt-packages-"));
    expect(read(empty, { rpm })).toMatchObject({
      ok: false,
      error: { code: "unavailable", message: `no package database under ${empty}: neither ${empty}/var/lib/dpkg/status nor an rpm database (${empty}/var/lib/rpm, ${empty}/usr/lib/sysimage/rpm) exists` },
    });
  });

  it("compares versions with the ordering of the database they came from", () => {
    // for dpkg `.` sorts after `+`; for rpm both only separate runs of digits
    expect(compareVersions("dpkg", "1.0", "1+0")).toBe(1);
    expect(compareVersions("rpm", "1.0", "1+0")).toBe(0);
    // a release (rpm) is compared only when the constraint names one; a revision (dpkg) always
    expect(compareVersions("rpm", "3.0.7-104.el9", "3.0.7")).toBe(0);
    expect(compareVersions("dpkg", "3.0.7-1", "3.0.7")).toBe(1);
    expect(compareVersions("dpkg", "abc", "1")).toBeUndefined();
    expect(versionProblem("dpkg", "abc")).toBe("the upstream version of `abc` does not start with a digit");
    expect(versionProblem("rpm", "abc")).toBeUndefined();
  });
});
