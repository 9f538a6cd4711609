// `covenant test` as users run it (the built CLI, real processes): tests that pass and fail with
// what differed, coverage, JSON and JUnit, exit codes, bad input reported all at once with no
// test run, and sandboxes made in the temporary directory and removed afterwards.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

let dir: string;
let scratch: string;
const env = () => ({ TMPDIR: scratch, NO_COLOR: "1" });

const POLICY = `stakeholder finance { description = "Finance" }

control "LEDGER-01" {
  title    = "Ledger files are closed to others"
  owner    = finance
  severity = high

  file "/srv/ledger/gl.dat" -> [finance] {
    mode = 0640
  }
}

control "BACKUP-01" {
  title    = "The backup verifies"
  owner    = finance
  severity = high

  command ["/usr/bin/verify-backup", "/srv/backup"] -> [finance] {
    exit_code = 0
  }
}

control "UNTESTED-01" {
  title    = "Nobody tests this one"
  owner    = finance
  severity = low

  file "/etc/motd" {
    mode = 0644
  }
}
`;

const HOST = { users: ["root"], groups: { root: [] }, directories: [{ path: "/srv/ledger", mode: "0750" }], files: [{ path: "/srv/ledger/gl.dat", mode: "0640", content: "GL|1\n" }], commands: [{ argv: ["/usr/bin/verify-backup", "/srv/backup"], exit_code: 0 }] };

const TESTS = `tests:
  - name: a closed ledger and a good backup
    fixture: host.json
    expect:
      controls: { LEDGER-01: kept, BACKUP-01: kept }
  - name: a loose ledger file is drift
    fixture:
      extends: host.json
      files: [{ path: /srv/ledger/gl.dat, mode: "0664", content: "GL|1\\n" }]
    expect:
      controls:
        LEDGER-01: { outcome: drift, reason: "mode is 0664" }
  - name: a backup that fails, expected kept by mistake
    fixture:
      extends: host.json
      commands: [{ argv: [/usr/bin/verify-backup, /srv/backup], exit_code: 3, stderr: "bad block 7" }]
    expect:
      controls: { BACKUP-01: kept }
`;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "covenant-test-cmd-"));
  scratch = join(dir, "tmp");
  mkdirSync(scratch);
  mkdirSync(join(dir, "p"));
  writeFileSync(join(dir, "p", "ledger.promise"), POLICY);
  writeFileSync(join(dir, "p", "host.json"), JSON.stringify(HOST));
  writeFileSync(join(dir, "p", "ledger.test.yaml"), TESTS);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("covenant test", () => {
  it("says which tests pass and which fail, with expected and observed, and exits 1", () => {
    const r = covenant(["test", join(dir, "p")], { env: env() });
    expect(r.code, r.err).toBe(1);
    const lines = r.out.split("\n");
    expect(lines.find((l) => l.startsWith("PASS") && l.includes("ledger.test.yaml:2 a closed ledger"))).toBeDefined();
    expect(lines.find((l) => l.startsWith("PASS") && l.includes(":6 a loose ledger file is drift"))).toBeDefined();
    expect(lines.find((l) => l.startsWith("FAIL") && l.includes(":13 a backup that fails"))).toBeDefined();
    expect(r.out).toContain("control BACKUP-01: expected kept, observed drift");
    expect(r.out).toContain('exited with status 3, promised 0 ("bad block 7" on standard error)');
    expect(r.out).toContain("coverage: 2 of 3 controls, 2 of 3 promises");
    expect(r.out).toContain("not covered: control UNTESTED-01");
    expect(r.out).toContain("not covered: promise UNTESTED-01/file:/etc/motd");
    expect(lines.filter((l) => l !== "").at(-1)).toBe("3 tests: 2 passed, 1 failed");
    // every sandbox was made in the temporary directory, and is gone
    expect(readdirSync(scratch)).toEqual([]);
  });

  it("fails a suite whose tests pass but cover less than --min-coverage, and refuses a share that is not a percent", () => {
    // the same policy with only the tests that pass: 2 of 3 controls (66.7%), 2 of 3 promises
    mkdirSync(join(dir, "q"));
    writeFileSync(join(dir, "q", "ledger.promise"), POLICY);
    writeFileSync(join(dir, "q", "host.json"), JSON.stringify(HOST));
    writeFileSync(join(dir, "q", "ledger.test.yaml"), TESTS.slice(0, TESTS.indexOf("  - name: a backup that fails")));
    const plain = covenant(["test", join(dir, "q")], { env: env() });
    expect(plain.code, plain.out + plain.err).toBe(0);
    expect(covenant(["test", "--min-coverage", "66", join(dir, "q")], { env: env() }).code).toBe(0);
    const short = covenant(["test", "--min-coverage", "80", join(dir, "q")], { env: env() });
    expect(short.code).toBe(1);
    expect(short.err).toContain("covenant test: 2 of 3 controls covered (66.6%), below --min-coverage 80%");
    expect(short.err).toContain("covenant test: 2 of 3 promises covered (66.6%), below --min-coverage 80%");
    for (const bad of ["101", "lots", "-5"]) {
      const r = covenant(["test", "--min-coverage", bad, join(dir, "q")], { env: env() });
      expect(r.code, bad).toBe(2);
      expect(r.err).toMatch(/--min-coverage wants a percent from 0 to 100, such as 80, got `/);
    }
  });

  it("reads --min-coverage strictly (attacks): a share that only rounds up to it is below it and never said as equal; control characters in a bad value are escaped", () => {
    mkdirSync(join(dir, "r"));
    writeFileSync(join(dir, "r", "ledger.promise"), POLICY);
    writeFileSync(join(dir, "r", "host.json"), JSON.stringify(HOST));
    writeFileSync(join(dir, "r", "ledger.test.yaml"), TESTS.slice(0, TESTS.indexOf("  - name: a backup that fails")));
    // 2 of 3 is 66.666...%: 66.7 asks for more, and the share said is not rounded up to what was asked
    const near = covenant(["test", "--min-coverage", "66.7", join(dir, "r")], { env: env() });
    expect(near.code).toBe(1);
    expect(near.err).toContain("covenant test: 2 of 3 controls covered (66.6%), below --min-coverage 66.7%");
    for (const ok of ["66.6%", " 66 ", "0", "000"]) expect(covenant(["test", "--min-coverage", ok, join(dir, "r")], { env: env() }).code, ok).toBe(0);
    for (const bad of ["1e2", "0x50", "80.", ".5", "Infinity", "NaN", "+80", "80%%", "\u0668\u0660", "", "100.00001"]) {
      const r = covenant(["test", "--min-coverage", bad, join(dir, "r")], { env: env() });
      expect(r.code, bad).toBe(2);
    }
    const hostile = covenant(["test", "--min-coverage", "8\u001b]0;owned\u0007", join(dir, "r")], { env: env() });
    expect(hostile.code).toBe(2);
    expect(hostile.err).not.toMatch(/[\u001b\u0007]/);
  });

  it("gives JSON and JUnit with the same results", () => {
    const junit = join(dir, "results.xml");
    const r = covenant(["test", "--json", "--junit", junit, join(dir, "p", "ledger.test.yaml")], { env: env() });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as { tests: { name: string; status: string; mismatches: { subject: string; expected: string; observed: string; details: string[] }[] }[]; summary: object; coverage: { controls: { uncovered: string[] } } };
    expect(report.summary).toEqual({ tests: 3, passed: 2, failed: 1 });
    expect(report.tests.map((t) => t.status)).toEqual(["passed", "passed", "failed"]);
    expect(report.tests[2]!.mismatches).toEqual([{ subject: "control BACKUP-01", expected: "kept", observed: "drift", details: [expect.stringContaining("BACKUP-01/command:")] }]);
    expect(report.coverage.controls.uncovered).toEqual(["UNTESTED-01"]);
    const xml = readFileSync(junit, "utf8");
    expect(xml).toContain('<testsuites name="covenant test" tests="3" failures="1"');
    expect(xml).toMatch(/<testcase name="a backup that fails, expected kept by mistake"[^>]*line="13"[^>]*>\s*<failure message="control BACKUP-01: expected kept, observed drift"/);
  });

  it("exits 0 when every test passes", () => {
    const only = join(dir, "p", "passing");
    mkdirSync(only, { recursive: true });
    writeFileSync(join(only, "ok.test.yaml"), `policy: ..\ntests:\n  - name: kept\n    fixture: ../host.json\n    expect: { controls: { LEDGER-01: kept } }\n`);
    const r = covenant(["test", only], { env: env() });
    expect(r.out.trimEnd().split("\n").at(-1)).toBe("1 test: 1 passed, 0 failed");
    expect(r.code).toBe(0);
  });

  it("reports every problem of bad input at once, file:line:col, runs no test, and exits 2", () => {
    const bad = join(dir, "bad");
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, "ledger.promise"), POLICY);
    writeFileSync(join(bad, "host.json"), JSON.stringify(HOST));
    writeFileSync(
      join(bad, "bad.test.yaml"),
      `tests:\n  - name: typos\n    fixture: host.json\n    expect:\n      controls: { LEDGER-1: kept, BACKUP-01: kpet }\n  - name: bad fixture\n    fixture: { extends: host.json, files: [{ path: /srv/../etc/passwd, mode: "0644", content: "" }], facts: { os_id: rhel } }\n    expect: { others: kept }\n`,
    );
    const r = covenant(["test", bad], { env: env() });
    expect(r.code).toBe(2);
    expect(r.out).not.toMatch(/^(PASS|FAIL)/m);
    const heads = r.out.split("\n").filter((l) => /: error E\d+:/.test(l));
    expect(heads).toEqual([
      expect.stringMatching(/bad\.test\.yaml:5:19: error E408: the policy has no control `LEDGER-1`$/),
      expect.stringMatching(/bad\.test\.yaml:5:46: error E405: `kpet` is not an outcome/),
      expect.stringMatching(/bad\.test\.yaml:7:14: error E407: fixture .*bad\.test\.yaml: files\[0\]\.path "\/srv\/\.\.\/etc\/passwd" has a `\.\.` component/),
      expect.stringMatching(/bad\.test\.yaml:7:14: error E407: fixture .*facts\.os_id is not a fact a fixture sets/),
    ]);
    expect(r.out).toContain("help: did you mean `LEDGER-01`?");
    expect(r.out.trimEnd().split("\n").at(-1)).toBe("2 files checked: 4 errors, 0 warnings");
    expect(readdirSync(scratch)).toEqual([]);
  });

  it("says when there is no test file, exit 2", () => {
    const empty = join(dir, "empty");
    mkdirSync(empty, { recursive: true });
    const r = covenant(["test", empty], { env: env() });
    expect(r.code).toBe(2);
    expect(r.out).toContain("error E410: no test files (*.test.yaml)");
  });
});
