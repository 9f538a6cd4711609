import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(ensureBuilt);

function root(extra = ""): string {
  const dir = mkdtempSync(join(tmpdir(), "cvt-observe-packages-"));
  mkdirSync(join(dir, "var/lib/dpkg"), { recursive: true });
  copyFileSync("test/fixtures/packages/debian12-status", join(dir, "var/lib/dpkg/status"));
  if (extra) writeFileSync(join(dir, "var/lib/dpkg/status"), extra, { flag: "a" });
  return dir;
}

describe("covenant observe packages", () => {
  it("lists every record but purged ones, sorted, with version, architecture and status", () => {
    const r = covenant(["observe", "packages", "--root", root()]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME +VERSION +ARCH +STATUS$/);
    expect(lines.slice(1, -1).map((l) => l.split(/ +/)[0])).toEqual(["adduser", "auditd", "libc6", "libc6", "man-db", "nis", "openssh-server", "rsh-server", "telnet"]);
    expect(lines.find((l) => l.startsWith("telnet"))).toMatch(/^telnet +0\.17\+2\.4-2 +amd64 +config-files$/);
    expect(lines.find((l) => l.startsWith("openssh-server"))).toMatch(/^openssh-server +1:9\.2p1-2\+deb12u2 +amd64 +installed \(held\)$/);
    expect(lines.at(-1)).toMatch(/^9 packages \(6 installed\) from .*\/var\/lib\/dpkg\/status$/);
  });

  it("filters by name, pattern and architecture, and prints JSON", () => {
    const dir = root();
    expect(covenant(["observe", "packages", "--root", dir, "libc6:i386"]).out).toMatch(/^NAME.*\nlibc6 +2\.36-9\+deb12u3 +i386 +installed\n1 package \(1 installed\)/);
    const json = JSON.parse(covenant(["observe", "packages", "--root", dir, "--json", "open*"]).out) as { data: { manager: string; packages: unknown[] }; skipped: unknown[] };
    expect(json.data.manager).toBe("dpkg");
    expect(json.data.packages).toEqual([{ name: "openssh-server", architecture: "amd64", version: "1:9.2p1-2+deb12u2", status: "installed", installed: true, held: true }]);
    expect(json.skipped).toEqual([]);
  });

  it("escapes what the database holds, and says what it skipped", () => {
    const r = covenant(["observe", "packages", "--root", root("\nPackage: evil\nStatus: install ok installed\nVersion: 1.0\u001b[2J\n\nPackage: Bad_Name\nStatus: install ok installed\n"), "evil"]);
    expect(r.out).not.toContain("\u001b");
    expect(r.out).toContain("evil  1.0\\x1b[2J");
    expect(r.out).toContain("skipped: 1 × `Bad_Name` is not a package name");
  });

  it("says why when there is no database, and refuses a bad pattern", () => {
    const empty = mkdtempSync(join(tmpdir(), "cvt-observe-packages-"));
    const r = covenant(["observe", "packages", "--root", empty], { env: { PATH: dirname(process.execPath) } });
    expect(r.code).toBe(2);
    expect(r.err).toContain(`covenant: cannot observe: no package database under ${empty}`);
    const bad = covenant(["observe", "packages", "a b"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("`a b` is not a package name or pattern");
  });

  it("shows this host's packages as dpkg-query does (live)", () => {
    let expected: string[];
    try {
      expected = execFileSync("dpkg-query", ["-W", "-f=${Package}\\n"], { encoding: "utf8" }).split("\n").filter((l) => l !== "");
    } catch {
      return;
    }
    const json = JSON.parse(covenant(["observe", "packages", "--json"]).out) as { data: { packages: { name: string }[] } };
    expect(json.data.packages.map((p) => p.name)).toEqual([...expected].sort());
  });
});
