// Policy input as users and attackers give it to the built CLI: imports of secrets and devices,
// FIFOs that would block, bytes that are not UTF-8, sizes past the limit, and policies that hold
// nothing to evaluate. Every command is run with a time limit: a hang fails the test.
import { spawnSync } from "node:child_process";
import { chownSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { displayPath } from "../../src/checker/load.ts";
import { bin, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

const made: string[] = [];
const temp = (prefix = "input") => {
  const dir = mkdtempSync(join(tmpdir(), `covenant-${prefix}-`));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const policy = `stakeholder ops\ncontrol "A" {\n  title = "t"\n  owner = ops\n  load { max_1m = 1000 }\n}\n`;

/** The CLI, killed after `seconds`: `signal` says it was, where a hang would otherwise stall the suite. */
function covenant(args: string[], opts: { cwd?: string; env?: Record<string, string>; seconds?: number } = {}) {
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...base } = process.env;
  const r = spawnSync(bin, args, { cwd: opts.cwd ?? process.cwd(), env: { ...base, ...opts.env }, encoding: "utf8", timeout: (opts.seconds ?? 30) * 1000, maxBuffer: 1 << 26 });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

describe("imports never read what is not policy", () => {
  it("`import \"/proc/self/environ\"` prints no secret of the environment", () => {
    const dir = temp();
    writeFileSync(join(dir, "main.promise"), `import "/proc/self/environ"\n${policy}`);
    const r = covenant(["check", "main.promise"], { cwd: dir, env: { CI_SECRET: "hunter2-s3cr3t-token" } });
    expect(r.out + r.err).not.toContain("hunter2-s3cr3t-token");
    expect(r.code).toBe(2);
    expect(r.out).toContain("main.promise:1:8: error E120: cannot import `/proc/self/environ`: it leads to `/proc/");
    const json = covenant(["check", "--format", "json", "main.promise"], { cwd: dir, env: { CI_SECRET: "hunter2-s3cr3t-token" } });
    expect(json.out).not.toContain("hunter2-s3cr3t-token");
  });

  it("`import \"/dev/zero\"` is refused at once: no hang, no growing memory", () => {
    const dir = temp();
    writeFileSync(join(dir, "main.promise"), `import "/dev/zero"\n${policy}`);
    for (const command of [["check"], ["run", "--state", join(dir, "state")]]) {
      const r = covenant([...command, join(dir, "main.promise")], { seconds: 20 });
      expect(r.signal).toBe(null);
      expect(r.code).toBe(2);
      expect(r.out + r.err).toContain("error E120: cannot import `/dev/zero`: it is outside the policy's directories");
    }
  }, 60_000);

  it("a library outside the policy's directories is imported with --include, and only then", () => {
    const dir = temp();
    const library = temp("library");
    writeFileSync(join(library, "common.promise"), "stakeholder ops\n");
    writeFileSync(join(dir, "main.promise"), `import "${join(library, "common.promise")}"\ncontrol "A" {\n  title = "t"\n  owner = ops\n  load { max_1m = 1000 }\n}\n`);
    expect(covenant(["check", join(dir, "main.promise")]).code).toBe(2);
    const checked = covenant(["check", "--include", library, join(dir, "main.promise")]);
    expect(checked.out).toContain("2 files checked: 0 errors, 1 warning"); // W301: no covenant.yaml
    expect(checked.code).toBe(0);
    const ran = covenant(["run", "--include", "/nonexistent", "--include", library, "--state", join(dir, "state"), join(dir, "main.promise")]);
    expect(ran.err).toContain("cannot read `/nonexistent` (--include): no such file or directory");
    expect(ran.code).toBe(2);
    const run = covenant(["run", "--include", library, "--state", join(dir, "state"), join(dir, "main.promise")]);
    expect(run.code).toBe(0);
  });

  it("a link through which fmt would write outside the directories named is refused, and what it leads to is untouched", () => {
    const dir = temp();
    const outside = temp("outside");
    const victim = join(outside, "victim.promise");
    writeFileSync(victim, "stakeholder    ops\n");
    symlinkSync(victim, join(dir, "link.promise"));
    const r = covenant(["fmt", dir]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("error E120: `");
    expect(readFileSync(victim, "utf8")).toBe("stakeholder    ops\n");
  });

  it("fmt never rewrites through a link named on the command line: the file it leads to, even one of comments only, is untouched", () => {
    const dir = temp();
    const conf = join(dir, "hosts.deny");
    const comments = "# comment   \n\n\n\n#  another\t\n";
    writeFileSync(conf, comments);
    const link = join(dir, "planted.promise");
    symlinkSync(conf, link);
    const r = covenant(["fmt", link]);
    expect(r.err).toContain(`planted.promise: error E006: not rewritten: it is a symbolic link (to `);
    expect(r.code).toBe(2);
    expect(readFileSync(conf, "utf8")).toBe(comments);
    // read through it, nothing is written: --check and --stdout still work
    expect(covenant(["fmt", "--check", link]).code).toBe(1);
    // a link found in a directory to a file in it is skipped; the file is formatted under its own name
    const pol = temp();
    writeFileSync(join(pol, "main.promise"), "stakeholder    ops\n");
    symlinkSync("main.promise", join(pol, "alias.promise"));
    const inDir = covenant(["fmt", pol]);
    expect(inDir.code).toBe(0);
    // named as the CLI names files: relative to the working directory when that is short
    expect(inDir.out.trim()).toBe(`formatted ${displayPath(join(pol, "main.promise"))}`);
    expect(readFileSync(join(pol, "main.promise"), "utf8")).toBe("stakeholder ops\n");
  });
});

describe.runIf(process.getuid?.() === 0)("fmt as root", () => {
  it("does not rewrite a file with other names: a hard link to a file of root's in another user's directory", () => {
    const dir = temp();
    const conf = join(dir, "hosts.deny");
    const comments = "# root's   \n\n\n# configuration\n";
    writeFileSync(conf, comments);
    const theirs = join(dir, "theirs");
    mkdirSync(theirs);
    chownSync(theirs, 65534, 65534);
    linkSync(conf, join(theirs, "a.promise"));
    const r = covenant(["fmt", theirs]);
    expect(r.err).toContain("error E006: not rewritten: it has 1 other name(s) (a hard link): as root, fmt rewrites no file with other names");
    expect(r.code).toBe(2);
    expect(readFileSync(conf, "utf8")).toBe(comments);
  });
});

describe("files that are not policy text", () => {
  it("a FIFO in a policy directory is an error for check, fmt and run, never a hang", () => {
    const dir = temp();
    writeFileSync(join(dir, "main.promise"), policy);
    expect(spawnSync("mkfifo", [join(dir, "stuck.promise")]).status).toBe(0);
    for (const command of [["check"], ["fmt", "--check"], ["run", "--state", join(dir, "state")]]) {
      const r = covenant([...command, dir], { seconds: 20 });
      expect(r.signal, command[0]).toBe(null);
      expect(r.code, command[0]).toBe(2);
      expect(r.out + r.err).toContain("stuck.promise:1:1: error E009: `");
      expect(r.out + r.err).toContain("stuck.promise` is a FIFO, not a regular file");
    }
  }, 90_000);

  it("a file past --max-file-size is an error; a malformed size is a usage error", () => {
    const dir = temp();
    writeFileSync(join(dir, "main.promise"), policy);
    const r = covenant(["check", "--max-file-size", "64B", dir]);
    expect(r.code).toBe(2);
    expect(r.out).toContain("is 85 bytes, more than the 64 bytes a policy file may be");
    expect(covenant(["check", "--max-file-size", "1KiB", dir]).code).toBe(0);
    const bad = covenant(["run", "--max-file-size", "lots", dir]);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe("covenant run: --max-file-size wants a size from 1B to 256MiB, such as 16MiB, 500KB or 4096, got `lots`\n");
    expect(covenant(["fmt", "--max-file-size", "1GiB", dir]).code).toBe(2);
  });

  it("bytes that are not UTF-8 are an error at their line and column, and fmt leaves the file as it was", () => {
    const dir = temp();
    const file = join(dir, "latin1.promise");
    const bytes = Buffer.concat([Buffer.from(`stakeholder ops\ncontrol "A" {\n  title   =   "caf`), Buffer.from([0xe9]), Buffer.from(`"\n  load { max_1m = 1000 }\n}\n`)]);
    writeFileSync(file, bytes);
    const checked = covenant(["check", "latin1.promise"], { cwd: dir });
    expect(checked.code).toBe(2);
    expect(checked.out).toContain("latin1.promise:3:19: error E007: file is not UTF-8: the bytes from 0xe9 here do not form a UTF-8 character");
    expect(checked.out).not.toContain("\ufffd");
    const formatted = covenant(["fmt", "latin1.promise"], { cwd: dir });
    expect(formatted.code).toBe(2);
    expect(formatted.err).toContain("latin1.promise:3:19: error E007");
    expect(readFileSync(file).equals(bytes)).toBe(true);
  });
});

describe("nothing to evaluate", () => {
  const cases: [string, (dir: string) => string, string][] = [
    ["an empty directory", (dir) => (mkdirSync(join(dir, "policies")), "policies"), "nothing to evaluate: no .promise file in `policies`"],
    ["an empty file", (dir) => (writeFileSync(join(dir, "empty.promise"), ""), "empty.promise"), "nothing to evaluate: `empty.promise` holds no control: it is empty"],
    ["a file of comments", (dir) => (writeFileSync(join(dir, "notes.promise"), "# to do: the ledger controls\n"), "notes.promise"), "nothing to evaluate: `notes.promise` holds no control: only comments"],
    ["a file of lets", (dir) => (writeFileSync(join(dir, "vars.promise"), "let ports = [5432]\n"), "vars.promise"), "nothing to evaluate: `vars.promise` holds no control: only `let` declarations"],
    ["a mistyped path", () => "polcies", "nothing to evaluate: no policy file could be read (see above)"],
  ];
  for (const [what, make, message] of cases) {
    it(`${what}: check and run exit 2 and say why, never "no deficiencies"`, () => {
      const dir = temp("nothing");
      const path = make(dir);
      const checked = covenant(["check", path], { cwd: dir });
      expect(checked.out).toContain(`error E010: ${message}`);
      expect(checked.code).toBe(2);
      const ran = covenant(["run", "--state", join(dir, "state"), path], { cwd: dir });
      expect(ran.err).toContain(`error E010: ${message}`);
      expect(ran.out).toBe("");
      expect(ran.code).toBe(2);
    });
  }

  it("several files of declarations only are nothing to evaluate too", () => {
    const dir = temp("nothing");
    writeFileSync(join(dir, "a.promise"), "stakeholder ops\n");
    writeFileSync(join(dir, "b.promise"), "let ports = [5432]\n");
    const r = covenant(["check", "."], { cwd: dir });
    expect(r.out).toContain(".:1:1: error E010: nothing to evaluate: the policy's 2 files hold no control: only `stakeholder`, `let` declarations");
    expect(r.code).toBe(2);
  });
});
