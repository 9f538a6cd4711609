// `covenant test` attacked through its inputs (the built CLI, real processes, real sandboxes): a
// test file or fixture must not make Covenant run a real program (recorded `commands` are read,
// never run), read a file outside the sandbox into its output (a fixture or `extends` aimed at a
// secret), write outside the sandbox (`changes` with `..`), blow up on a YAML alias bomb, print
// a fixture's terminal control sequences, or stop with an internal error (exit 3) on a change the
// sandbox cannot take.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

let dir: string;
let scratch: string;
const env = () => ({ TMPDIR: scratch, NO_COLOR: "1" });

/** Files a real run of the policy's commands would create: they must never appear. */
const ran = () => ({ recorded: join(dir, "ran-recorded"), unrecorded: join(dir, "ran-unrecorded") });

const policy = () => `stakeholder finance { description = "Finance" }

control "LEDGER-01" {
  title    = "Ledger files are closed to others"
  owner    = finance
  severity = high

  file "/srv/ledger/gl.dat" -> [finance] {
    mode = 0640
  }
}

control "RUNS-01" {
  title    = "A command with a recorded answer"
  owner    = finance
  severity = low

  command ["/usr/bin/touch", "${ran().recorded}"] -> [finance] {
    exit_code = 0
  }
}

control "RUNS-02" {
  title    = "A command with no recorded answer"
  owner    = finance
  severity = low

  command ["/usr/bin/touch", "${ran().unrecorded}"] -> [finance] {
    exit_code = 0
  }
}
`;

const host = () => ({
  users: ["root"],
  groups: { root: [] },
  directories: [{ path: "/srv/ledger", mode: "0750" }],
  files: [{ path: "/srv/ledger/gl.dat", mode: "0640", content: "GL|1\n" }],
  commands: [{ argv: ["/usr/bin/touch", ran().recorded], exit_code: 0 }],
});

/** A file outside any sandbox whose text must never reach the output (as /etc/shadow's). */
const SECRET_TEXT = "root:$6$attack-policy-test-secret$not-json:20000:0:99999:7:::\n";

function suite(name: string, yaml: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  writeFileSync(join(d, "ledger.promise"), policy());
  writeFileSync(join(d, "host.json"), JSON.stringify(host()));
  writeFileSync(join(d, "t.test.yaml"), yaml);
  return d;
}

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "covenant-attack-test-"));
  scratch = join(dir, "tmp");
  mkdirSync(scratch);
  writeFileSync(join(dir, "shadow"), SECRET_TEXT, { mode: 0o600 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("covenant test against hostile test files and fixtures", () => {
  it("never runs a command: a recorded one is read, one not recorded is an error, neither program runs", () => {
    const d = suite("commands", "tests:\n  - name: commands\n    fixture: host.json\n    expect:\n      controls: { RUNS-01: kept, RUNS-02: error, LEDGER-01: kept }\n");
    const r = covenant(["test", d], { env: env() });
    expect(r.out, r.err).toContain("1 test: 1 passed, 0 failed");
    expect(r.code).toBe(0);
    expect(existsSync(ran().recorded)).toBe(false);
    expect(existsSync(ran().unrecorded)).toBe(false);
  });

  it("does not print a file outside the sandbox that a fixture or its `extends` names", () => {
    const up = relative(join(dir, "secret"), join(dir, "shadow"));
    const d = suite("secret", `tests:\n  - name: named\n    fixture: ${join(dir, "shadow")}\n    expect: { others: kept }\n  - name: extended\n    fixture: { extends: "${up}" }\n    expect: { others: kept }\n`);
    const r = covenant(["test", d], { env: env() });
    expect(r.code).toBe(2);
    expect(r.out.match(/error E407: fixture: \S*shadow: not valid JSON/g)).toHaveLength(2);
    expect(r.out + r.err).not.toContain("attack-policy-test-secret");
  });

  it("never reads a file a test file names as its policy unless it is a .promise file or a directory", () => {
    const d = suite("policy-secret", `policy: [${join(dir, "shadow")}, .]\ntests:\n  - name: named\n    fixture: host.json\n    expect: { others: kept }\n`);
    const r = covenant(["test", d], { env: env() });
    expect(r.code).toBe(2);
    expect(r.out).toContain(`error E411: a \`policy\` path must name a .promise file or a directory: ${join(dir, "shadow")} is neither, and is not read`);
    expect(r.out + r.err).not.toContain("attack-policy-test-secret");
    // a directory and a .promise file are read as ever
    writeFileSync(join(d, "t.test.yaml"), "policy: [ledger.promise, .]\ntests:\n  - name: named\n    fixture: host.json\n    expect: { controls: { LEDGER-01: kept } }\n");
    expect(covenant(["test", d], { env: env() }).out).toContain("1 test: 1 passed, 0 failed");
  });

  it("refuses a change that leaves the sandbox, and runs no test", () => {
    const d = suite("escape", "tests:\n  - name: escape\n    fixture: host.json\n    changes:\n      - { path: /srv/../../../../../../tmp/escaped, content: owned }\n    expect: { others: kept }\n");
    const r = covenant(["test", d], { env: env() });
    expect(r.code).toBe(2);
    expect(r.out).toContain("error E411");
    expect(r.out).toContain("has a `..` component");
    expect(readdirSync(scratch)).toEqual([]);
  });

  it("reports a change the sandbox cannot take (a path through a file, a directory) as the test's error, not an internal one", () => {
    const d = suite("bad-change", [
      "tests:",
      "  - name: through a file",
      "    fixture: host.json",
      "    changes: [{ path: /srv/ledger/gl.dat/x, content: hi }]",
      "    expect: { controls: { LEDGER-01: kept } }",
      "  - name: over a directory",
      "    fixture: host.json",
      "    changes: [{ path: /srv/ledger, content: hi }]",
      "    expect: { controls: { LEDGER-01: kept } }",
      "  - name: still run",
      "    fixture: host.json",
      "    expect: { controls: { LEDGER-01: kept } }",
      "",
    ].join("\n"));
    const r = covenant(["test", d], { env: env() });
    expect(r.err).not.toContain("internal error");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL \S+t\.test\.yaml:2 through a file[^\n]*\n {2}the change of \/srv\/ledger\/gl\.dat\/x cannot be written in the sandbox \(E\w+\)/);
    expect(r.out).toMatch(/FAIL \S+t\.test\.yaml:6 over a directory[^\n]*\n {2}the change of \/srv\/ledger cannot be written in the sandbox \(EISDIR\)/);
    expect(r.out).toContain("3 tests: 1 passed, 2 failed");
    expect(readdirSync(scratch)).toEqual([]);
  });

  it("refuses a YAML alias bomb in an inline fixture quickly", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`);
    const bomb = levels.map((l) => `      ${l}`).join("\n");
    const d = suite("bomb", `tests:\n  - name: bomb\n    fixture:\n${bomb}\n    expect: { others: kept }\n`);
    const started = Date.now();
    const r = covenant(["test", d], { env: env() });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/error E400: YAML: Excessive alias count/);
    expect(r.err).not.toContain("internal error");
  });

  it("escapes a fixture's terminal control sequences in text and JUnit", () => {
    const evil = "\\e]0;owned\\a\\e[2J";
    const d = suite("escapes", `tests:\n  - name: "name ${evil}"\n    fixture:\n      extends: host.json\n      commands: [{ argv: [/usr/bin/touch, "${ran().recorded}"], exit_code: 4, stderr: "${evil}" }]\n    expect: { controls: { RUNS-01: { outcome: kept, reason: "${evil}" } } }\n`);
    const junit = join(dir, "escapes.xml");
    const r = covenant(["test", "--junit", junit, d], { env: env() });
    expect(r.code).toBe(1);
    expect(r.out).toContain("name \\x1b]0;owned\\x07\\x1b[2J");
    expect(r.out).toContain("exited with status 4");
    for (const text of [r.out, r.err, readFileSync(junit, "utf8")]) expect(text).not.toMatch(/[\u001b\u0007]/);
    expect(existsSync(ran().recorded)).toBe(false);
  });
});
