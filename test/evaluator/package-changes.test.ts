// The argv of package changes, and the simulation that guards a removal, read from the real
// apt-get's simulation (`-s`: it changes nothing) where apt-get is installed.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { alsoRemoved, packageArgv, packageEnvironment } from "../../src/evaluator/package-changes.ts";

const conffiles = ["-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"];

describe("package changes", () => {
  it("builds each manager's argv, the packages after `--`", () => {
    expect(packageArgv({ op: "package", manager: "apt-get", action: "install", packages: ["auditd=1:3.0.9-1", "libc6:i386"] })).toEqual(["apt-get", "install", "-y", "--no-install-recommends", ...conffiles, "--", "auditd=1:3.0.9-1", "libc6:i386"]);
    expect(packageArgv({ op: "package", manager: "apt-get", action: "purge", packages: ["telnet"] })).toEqual(["apt-get", "purge", "-y", ...conffiles, "--", "telnet"]);
    expect(packageArgv({ op: "package", manager: "dnf", action: "install", packages: ["audit-3.0.7"] })).toEqual(["dnf", "install", "-y", "--setopt=install_weak_deps=False", "--", "audit-3.0.7"]);
    expect(packageArgv({ op: "package", manager: "dnf", action: "remove", packages: ["telnet.x86_64"] })).toEqual(["dnf", "remove", "-y", "--", "telnet.x86_64"]);
  });

  it("gives the package manager an environment of its own", () => {
    expect(Object.keys(packageEnvironment()).sort()).toEqual(["DEBIAN_FRONTEND", "LC_ALL", "PATH"]);
  });

  it("finds what a removal would take besides the packages named", () => {
    const sim = "NOTE: This is only a simulation!\nRemv aide-common [0.18.3-1]\nRemv aide [0.18.3-1]\nPurg libfoo:i386 [1.0]\nInst x [1]\n";
    expect(alsoRemoved(sim, ["aide"])).toEqual(["aide-common", "libfoo:i386"]);
    expect(alsoRemoved(sim, ["aide", "aide-common", "libfoo:amd64"])).toEqual([]);
  });

  // an installed package of priority `optional`, to simulate removing (nothing is removed)
  const candidate = (() => {
    try {
      const lines = execFileSync("dpkg-query", ["-W", "-f=${Package} ${Priority} ${db:Status-Abbrev}\\n"], { encoding: "utf8" }).split("\n");
      return lines.find((l) => / optional ii /.test(`${l} `))?.split(" ")[0];
    } catch {
      return undefined;
    }
  })();
  it.skipIf(candidate === undefined)("reads the real apt-get's simulation of a removal (live, simulated: nothing removed)", () => {
    const out = execFileSync("apt-get", ["remove", "-s", "-y", "--", candidate!], { encoding: "utf8", env: packageEnvironment() });
    expect(out).toMatch(new RegExp(`^Remv ${candidate!.replace(/[.+]/g, "\\$&")} \\[`, "m"));
    expect(alsoRemoved(out, [candidate!])).not.toContain(candidate);
    const removed = out.split("\n").filter((l) => l.startsWith("Remv ")).length;
    expect(alsoRemoved(out, [candidate!])).toHaveLength(removed - 1);
  });
});
