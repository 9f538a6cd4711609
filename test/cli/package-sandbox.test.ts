// `package` promises in a sandbox: the sandbox's own root holds the package database that
// sandbox.json creates (a status file like any other file), and repairs are held, never run.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(ensureBuilt);

describe("package promises in a sandbox", () => {
  it("are judged on the sandbox's database, and their repairs held", () => {
    const dir = mkdtempSync(join(tmpdir(), "cvt-package-sandbox-"));
    const status = readFileSync("test/fixtures/packages/debian12-status", "utf8");
    writeFileSync(
      join(dir, "sandbox.json"),
      JSON.stringify({ users: ["root"], groups: { root: [] }, directories: [{ path: "/var/lib/dpkg", mode: "0755" }], files: [{ path: "/var/lib/dpkg/status", mode: "0644", content: status }] }),
    );
    writeFileSync(
      join(dir, "p.promise"),
      `control "CM-1" {
  title = "auditd current, telnet gone, rsh removed"
  package "auditd" { version = ">= 1:3.0" }
  package "telnet" { state = absent }
  package "rsh-server" {
    state  = absent
    repair = remove
  }
}
`,
    );
    const sandbox = join(mkdtempSync(join(tmpdir(), "cvt-package-sb-")), "sandbox");
    const r = covenant(["run", "--sandbox-dir", sandbox, "--json", join(dir, "p.promise")]);
    const results = (JSON.parse(r.out) as { controls: { promises: { promiser: string; outcome: string; changes: { status: string; description: string }[] }[] }[] }).controls[0]!.promises;
    expect(results.map((p) => [p.promiser, p.outcome])).toEqual([
      ["auditd", "kept"],
      ["telnet", "kept"],
      ["rsh-server", "drift"],
    ]);
    expect(results[2]!.changes.map((c) => [c.status, c.description])).toEqual([["held", "apt-get remove -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- rsh-server"]]);
    expect(readFileSync(join(sandbox, "root/var/lib/dpkg/status"), "utf8")).toBe(status);
  });
});
