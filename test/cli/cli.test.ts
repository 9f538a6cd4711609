// The command line as users and CI run it: the built bin, real files, real exit codes.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "covenant-cli-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const broken = `stakeholder ops
control "C-1" {
  title = "t"
  owner = ops
  file "/srv/a" { mdoe = 0640 }
  file "/srv/b" { mode = 0999 }
}
`;

beforeAll(() => {
  // the tests run the built CLI, as users do
  ensureBuilt();
});

describe("covenant CLI", () => {
  it("prints help with the exit codes, and a help text per subcommand", () => {
    const r = covenant(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Usage: covenant");
    expect(r.out).toMatch(/2\s+policy or configuration error/);
    for (const sub of ["check", "fmt"]) {
      const h = covenant([sub, "--help"]);
      expect(h.code).toBe(0);
      expect(h.out).toContain(`Usage: covenant ${sub}`);
      expect(h.out).toContain("Exit codes:");
    }
  });

  it("prints its version", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(covenant(["--version"]).out.trim()).toBe(pkg.version);
  });

  it("exits 2 on a usage error", () => {
    const r = covenant(["nonsense"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown command");
    // help shown because something is missing is a usage error too; help asked for is not
    for (const args of [[], ["observe"], ["help", "bogus"]]) expect(covenant(args).code, args.join(" ")).toBe(2);
    expect(covenant(["help"]).code).toBe(0);
  });

  it("check: exit 0 on the bundled examples", () => {
    const r = covenant(["check", "examples/sox"]);
    expect(r.out).toContain("0 errors");
    expect(r.code).toBe(0);
  });

  it("check: exit 2 with file:line:col, code, source line, caret and help for every error", () => {
    const dir = tempDir({ "p.promise": broken });
    const r = covenant(["check", "p.promise"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.out).toContain(`p.promise:5:19: error E101: unknown attribute \`mdoe\` for \`file\` promise
  5 |   file "/srv/a" { mdoe = 0640 }
    |                   ^^^^
  help: did you mean \`mode\`?`);
    expect(r.out).toContain("p.promise:6:26: error E103: `0999` is not an octal file mode: digits must be 0 to 7");
    expect(r.out).toContain("1 file checked: 2 errors, 0 warnings");
  });

  it("check --format json: diagnostics as data", () => {
    const dir = tempDir({ "p.promise": broken });
    const r = covenant(["check", "--format", "json", "."], { cwd: dir });
    expect(r.code).toBe(2);
    const data = JSON.parse(r.out) as { diagnostics: { file: string; line: number; column: number; code: string; suggestion?: string }[]; summary: { errors: number } };
    expect(data.summary.errors).toBe(2);
    expect(data.diagnostics[0]).toMatchObject({ file: "p.promise", line: 5, column: 19, endLine: 5, endColumn: 23, code: "E101", severity: "error", suggestion: "did you mean `mode`?" });
  });

  it("check --json: the same JSON as --format json, as run --json and history --json say it", () => {
    const dir = tempDir({ "p.promise": broken });
    const json = covenant(["check", "--json", "."], { cwd: dir });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.out)).toEqual(JSON.parse(covenant(["check", "--format", "json", "."], { cwd: dir }).out));
    expect(covenant(["check", "--json", "--strict", "p.promise"], { cwd: dir }).code).toBe(2);
    const both = covenant(["check", "--json", "--format", "text", "."], { cwd: dir });
    expect(both.code).toBe(2);
    expect(both.err).toContain("cannot be used with option '--format <format>'");
    expect(covenant(["check", "--help"]).out).toContain("--json");
  });

  it("check --strict fails on warnings", () => {
    const dir = tempDir({ "p.promise": 'control "X" { title = "t" load { max_1m = 1 } }' });
    expect(covenant(["check", "p.promise"], { cwd: dir }).code).toBe(0);
    expect(covenant(["check", "--strict", "p.promise"], { cwd: dir }).code).toBe(2);
  });

  it("check: a missing path is a clear error", () => {
    const r = covenant(["check", "does/not/exist.promise"]);
    expect(r.code).toBe(2);
    expect(r.out).toContain("error E006: cannot read `does/not/exist.promise`: no such file or directory");
  });

  it("colours only for terminals or FORCE_COLOR, never with NO_COLOR", () => {
    const dir = tempDir({ "p.promise": broken });
    expect(covenant(["check", "p.promise"], { cwd: dir }).out).not.toContain("\u001b[");
    expect(covenant(["check", "p.promise"], { cwd: dir, env: { FORCE_COLOR: "1" } }).out).toContain("\u001b[31m");
    expect(covenant(["check", "p.promise"], { cwd: dir, env: { FORCE_COLOR: "1", NO_COLOR: "1" } }).out).not.toContain("\u001b[");
  });

  it("fmt --check lists files that would change and exits 1; fmt rewrites them", () => {
    const dir = tempDir({ "ugly.promise": 'stakeholder ops\ncontrol "C" {title="t" owner=ops load{max_1m=1}}\n', "fine.promise": "stakeholder x\n" });
    const check = covenant(["fmt", "--check", "."], { cwd: dir });
    expect(check.code).toBe(1);
    expect(check.out.trim()).toBe("would reformat ugly.promise");
    expect(readFileSync(join(dir, "ugly.promise"), "utf8")).toContain("{title=");
    const write = covenant(["fmt", "."], { cwd: dir });
    expect(write.code).toBe(0);
    expect(readFileSync(join(dir, "ugly.promise"), "utf8")).toBe('stakeholder ops\n\ncontrol "C" {\n  title = "t"\n  owner = ops\n  load {\n    max_1m = 1\n  }\n}\n');
    expect(covenant(["fmt", "--check", "."], { cwd: dir }).code).toBe(0);
  });

  it("fmt never rewrites a file with syntax errors", () => {
    const text = 'control "C" { title = }\n';
    const dir = tempDir({ "bad.promise": text });
    const r = covenant(["fmt", "bad.promise"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.err).toContain("bad.promise:1:23: error E003");
    expect(readFileSync(join(dir, "bad.promise"), "utf8")).toBe(text);
  });

  it("checks a copy of the examples from another directory", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-ex-"));
    cpSync("examples/sox", join(dir, "sox"), { recursive: true });
    const r = covenant(["check", "sox"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toContain("4 files checked");
  });
});

describe("covenant observe", () => {
  it("lists listening sockets with owners, as a table and as JSON", () => {
    const table = covenant(["observe", "connections", "--listening"]);
    expect(table.code).toBe(0);
    expect(table.out.split("\n")[0]).toMatch(/^STATE\s+LOCAL\s+REMOTE\s+USER\s+PROCESS$/);
    const json = covenant(["observe", "connections", "--listening", "--json"]);
    const data = JSON.parse(json.out) as { data: { state: string }[]; skipped: unknown[] };
    expect(data.data.length).toBeGreaterThan(0);
    expect(data.data.every((c) => c.state === "LISTEN")).toBe(true);
  });

  it("reads a fixture tree through --proc-root and --etc-root", () => {
    const r = covenant(["observe", "connections", "--port", "5432", "--json", "--proc-root", "test/fixtures/proc/awkward", "--etc-root", "test/fixtures/proc/debian12-vm/etc"]);
    expect(r.code).toBe(0);
    const data = JSON.parse(r.out) as { data: { inode: number }[]; skipped: { reason: string }[] };
    expect(data.data.map((c) => c.inode).sort((a, b) => a - b)).toEqual([0, 4474, 5001, 5002, 5003, 99001, 99003]);
    expect(data.skipped.map((s) => s.reason)).toContain("unknown state `FF`");
  });

  it("says why it cannot observe instead of printing an empty table", () => {
    const r = covenant(["observe", "connections", "--proc-root", "/nonexistent"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("cannot observe: /nonexistent/net/tcp does not exist (not-found)");
    expect(r.out).toBe("");
  });

  it("lists locks, and says when a path to resolve does not exist", () => {
    expect(covenant(["observe", "locks"]).out.split("\n")[0]).toMatch(/^KIND\s+ACCESS\s+HOLDER\s+RANGE\s+DEVICE:INODE$/);
    const missing = covenant(["observe", "locks", "/does/not/exist"]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("/does/not/exist does not exist");
  });

  it("lists host facts with the examples' business calendar", () => {
    const r = covenant(["observe", "facts", "--json", "examples/sox"]);
    expect(r.code).toBe(0);
    const facts = (JSON.parse(r.out) as { data: Record<string, unknown> }).data;
    expect(facts["os"]).toBe("linux");
    expect(typeof facts["business_day_of_month"]).toBe("number");
  });

  it("shows system counters, sysctl keys, mounts and files, each failing precisely", () => {
    expect(covenant(["observe", "system"]).out).toMatch(/^COUNTER\s+VALUE\nfilehandles\s+\d+ of \d+/);
    const sys = covenant(["observe", "sysctl", "net.ipv4.ip_forward", "kernel.no_such_key"]);
    expect(sys.code).toBe(2);
    expect(sys.out).toMatch(/net\.ipv4\.ip_forward\s+[01]\n/);
    expect(sys.out).toMatch(/kernel\.no_such_key\s+cannot observe: \/proc\/sys\/kernel\/no_such_key does not exist/);
    expect(covenant(["observe", "mounts", "/proc/self"]).out).toMatch(/\n\/proc\s+proc\s/);
    const file = JSON.parse(covenant(["observe", "file", "--json", "--hash", "sha256", "package.json"]).out) as { data: { digest: string; modeText: string } };
    expect(file.data.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("shows uid 0 accounts and group members from a fixture /etc", () => {
    const r = covenant(["observe", "accounts", "--etc-root", "test/fixtures/proc/debian12-vm/etc"]);
    expect(r.out).toContain("uid 0 accounts: root, toor");
    expect(r.out).toMatch(/sudo\s+27\s+alice, bob/);
    const json = JSON.parse(covenant(["observe", "accounts", "root", "--json", "--etc-root", "test/fixtures/proc/debian12-vm/etc"]).out) as { data: { groups: { members: string[] }[] }; skipped: unknown[] };
    expect(json.data.groups[0]!.members).toEqual(["root", "toor"]);
    expect(json.skipped.length).toBe(3);
  });

  it("says systemd is not running rather than that a service is stopped", () => {
    const r = covenant(["observe", "service", "postgresql"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("systemd is not running on this host");
  });

  it("rejects a bad filter with a clear message", () => {
    const r = covenant(["observe", "connections", "--state", "dancing"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown state `dancing`; states: ESTABLISHED/);
    expect(covenant(["observe", "connections", "--state", ""]).code).toBe(2);
    expect(covenant(["observe", "connections", "--port", ""]).err).toContain("--port must be a port number, got ``");
    expect(covenant(["observe", "connections", "--remote", "nonsense"]).err).toContain("--remote must be an IP address");
  });

  it("matches a remote address however it is written, mapped or not", () => {
    const args = ["observe", "connections", "--json", "--proc-root", "test/fixtures/proc/awkward", "--etc-root", "test/fixtures/proc/debian12-vm/etc"];
    const inodes = (remote: string) => (JSON.parse(covenant([...args, "--remote", remote]).out) as { data: { inode: number }[] }).data.map((c) => c.inode).sort((a, b) => a - b);
    expect(inodes("127.0.0.1")).toEqual([5002, 99001, 99002]);
    expect(inodes("::ffff:127.0.0.1")).toEqual([5002, 99001, 99002]);
  });

  it("resolves the path whose mount is asked for", () => {
    const r = covenant(["observe", "mounts", "/proc/self/../self"]);
    expect(r.out).toMatch(/\n\/proc\s+proc\s/);
  });
});
