// As root, `run` runs only policy no other user can change (checker/policy-trust.ts): a policy
// is code root runs. Real files owned by `nobody` (uid 65534), real modes, the built CLI. These
// tests need root, as Covenant's runs from cron have it.
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, lchownSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const made: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), "covenant-trust-"));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function covenant(args: string[], cwd = process.cwd()) {
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...env } = process.env;
  const r = spawnSync(bin, args, { cwd, env, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A policy whose one promise runs `id` as root, leaving `marker` behind if it ever runs. */
function idPolicy(marker: string): string {
  return `stakeholder ops
control "OPS-ID-01" {
  title = "who runs this"
  owner = ops
  command ["/bin/sh", "-c", "/usr/bin/id > ${marker}"] { exit_code = 0 }
}
`;
}

describe.runIf(asRoot)("as root, run refuses policy another user can change", () => {
  it("a world-writable policy owned by nobody is not run: exit 2, the file and the fix named", () => {
    const dir = temp();
    const marker = join(dir, "ran-as-root");
    const file = join(dir, "planted.promise");
    writeFileSync(file, idPolicy(marker));
    chownSync(file, NOBODY, NOBODY);
    chmodSync(file, 0o666);
    for (const extra of [[], ["--dry-run"], ["--sandbox-dir", join(dir, "sandbox")]]) {
      const r = covenant(["run", "--state", join(dir, "state"), ...extra, file]);
      expect(r.err).toContain(`error E122: the policy file ${file} is owned by uid 65534, not root: as root, Covenant runs only policy that no other user can change; fix: read it through (its owner may have changed it), then \`chown root:root ${file} && chmod go-w ${file}\``);
      expect(r.code, extra.join(" ")).toBe(2);
      expect(existsSync(marker)).toBe(false);
    }
    // check only reads: it still checks another user's policy as root
    expect(covenant(["check", file]).code).toBe(0);
  });

  it("a policy of root's that its group can write is refused", () => {
    const dir = temp();
    const file = join(dir, "main.promise");
    writeFileSync(file, idPolicy(join(dir, "marker")));
    chmodSync(file, 0o664);
    const r = covenant(["run", "--state", join(dir, "state"), file]);
    expect(r.err).toContain(`the policy file ${file} is writable by its group (mode 0664): as root, Covenant runs only policy that no other user can change; fix: read it through (others may have changed it), then \`chmod go-w ${file}\``);
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, "marker"))).toBe(false);
  });

  it("a policy directory others can write is refused, even with the sticky bit, and so is a subdirectory of nobody's", () => {
    const dir = temp();
    const policies = join(dir, "policies");
    mkdirSync(join(policies, "team"), { recursive: true });
    writeFileSync(join(policies, "team/main.promise"), idPolicy(join(dir, "marker")));
    chmodSync(policies, 0o1777);
    const open = covenant(["run", "--state", join(dir, "state"), policies]);
    expect(open.err).toContain(`error E122: the policy directory ${policies} is writable by group and others (mode 1777)`);
    expect(open.code).toBe(2);
    chmodSync(policies, 0o755);
    chownSync(join(policies, "team"), NOBODY, NOBODY);
    const theirs = covenant(["run", "--state", join(dir, "state"), policies]);
    expect(theirs.err).toContain(`the directory ${join(policies, "team")}, in the policy directory ${policies}, is owned by uid 65534, not root`);
    expect(theirs.code).toBe(2);
    expect(existsSync(join(dir, "marker"))).toBe(false);
  });

  it("a directory above the policy may be sticky and world-writable, as /tmp is, when the policy's directory below it is root's", () => {
    const dir = temp();
    const shared = join(dir, "shared");
    mkdirSync(join(shared, "policies"), { recursive: true });
    chmodSync(shared, 0o1777);
    writeFileSync(join(shared, "policies/main.promise"), idPolicy(join(dir, "marker")));
    const r = covenant(["run", "--state", join(dir, "state"), join(shared, "policies")]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, "marker"))).toBe(true);
    // without the sticky bit, anyone could rename the policy's directory away and put their own in its place
    chmodSync(shared, 0o777);
    const open = covenant(["run", "--state", join(dir, "state"), join(shared, "policies")]);
    expect(open.err).toContain(`the directory ${shared}, on the way to the policy directory ${join(shared, "policies")}, is writable by group and others (mode 0777)`);
    expect(open.code).toBe(2);
  });

  it("an imported file, and an --include directory, of nobody's are refused", () => {
    const dir = temp();
    const library = temp();
    writeFileSync(join(library, "common.promise"), "stakeholder ops\n");
    writeFileSync(join(dir, "lib.promise"), "let unused_here = 1\n");
    writeFileSync(join(dir, "main.promise"), `import "lib.promise"\nimport "${join(library, "common.promise")}"\ncontrol "A" {\n  title = "t"\n  owner = ops\n  load { max_1m = 1000 }\n}\n`);
    chownSync(join(dir, "lib.promise"), NOBODY, NOBODY);
    chownSync(library, NOBODY, NOBODY);
    const r = covenant(["run", "--state", join(dir, "state"), "--include", library, join(dir, "main.promise")]);
    expect(r.err).toContain(`main.promise:1:8: error E122: the policy file ${join(dir, "lib.promise")} is owned by uid 65534, not root`);
    expect(r.err).toContain(`error E122: the policy directory ${library} is owned by uid 65534, not root`);
    expect(r.code).toBe(2);
  });

  it("a file in a refused directory is not read: a hard link to a secret of root's in nobody's directory is not quoted", () => {
    const dir = temp();
    const secret = join(dir, "secret");
    writeFileSync(secret, "root:SECRET-HASH-42:1:2\n", { mode: 0o600 });
    const planted = join(dir, "planted");
    mkdirSync(planted);
    chownSync(planted, NOBODY, NOBODY);
    // a hard link needs no access to the file where fs.protected_hardlinks is 0; root makes it here
    linkSync(secret, join(planted, "a.promise"));
    const r = covenant(["run", "--dry-run", "--state", join(dir, "state"), planted]);
    expect(r.err).toContain(`error E122: the policy directory ${planted} is owned by uid 65534, not root`);
    expect(r.err + r.out).not.toContain("SECRET-HASH-42");
    expect(r.code).toBe(2);
  });

  it("a policy named through a link of nobody's is refused, and what it leads to is not read", () => {
    const dir = temp();
    const secret = join(dir, "secret");
    writeFileSync(secret, "root:SECRET-HASH-42:1:2\n", { mode: 0o600 });
    const good = join(dir, "good");
    mkdirSync(good);
    writeFileSync(join(good, "main.promise"), idPolicy(join(dir, "marker")));
    const shared = join(dir, "shared");
    mkdirSync(shared, { mode: 0o1777 });
    chmodSync(shared, 0o1777);
    for (const [link, target, kind] of [[join(shared, "policy.promise"), secret, "file"], [join(shared, "policies"), good, "directory"]] as const) {
      symlinkSync(target, link);
      lchownSync(link, NOBODY, NOBODY);
      const r = covenant(["run", "--dry-run", "--state", join(dir, "state"), link]);
      expect(r.err).toContain(`error E122: the link ${link}, on the way to the policy ${kind} ${link}, is owned by uid 65534, not root: its owner decides where it leads`);
      expect(r.err + r.out).not.toContain("SECRET-HASH-42");
      expect(r.code).toBe(2);
      // the same link of root's is followed
      lchownSync(link, 0, 0);
      expect(covenant(["run", "--dry-run", "--state", join(dir, "state"), link]).err).not.toContain("E122");
    }
  });

  it("with --include /, the directories between / and an imported file are judged too: nobody's directory is refused", () => {
    const dir = temp();
    const theirs = join(dir, "theirs");
    mkdirSync(theirs);
    writeFileSync(join(theirs, "lib.promise"), "stakeholder ops\n");
    chownSync(theirs, NOBODY, NOBODY);
    const policies = join(dir, "policies");
    mkdirSync(policies);
    writeFileSync(join(policies, "main.promise"), `import "${join(theirs, "lib.promise")}"\ncontrol "A" {\n  title = "t"\n  owner = ops\n  load { max_1m = 1000 }\n}\n`);
    const r = covenant(["run", "--dry-run", "--state", join(dir, "state"), "--include", "/", policies]);
    // the first refused on the way: /tmp itself (open to all) when the temporary directory is there, else nobody's
    expect(r.err).toMatch(/error E122: the directory \/\S*, in the policy directory \/, is (owned by uid 65534|writable by group and others)/);
    expect(r.code).toBe(2);
  });

  it("an approved copy (baseline) another user can change is not restored from: root writes nothing of theirs", () => {
    const dir = temp();
    const target = join(dir, "sudoers");
    writeFileSync(target, "root ALL=(ALL) ALL\n");
    const theirs = join(dir, "theirs");
    mkdirSync(theirs);
    const copy = join(theirs, "approved");
    writeFileSync(copy, "nobody ALL=(ALL) NOPASSWD: ALL\n");
    chownSync(theirs, NOBODY, NOBODY);
    chownSync(copy, NOBODY, NOBODY);
    const policies = join(dir, "policies");
    mkdirSync(policies);
    writeFileSync(join(policies, "main.promise"), `stakeholder ops\ncontrol "A" {\n  title = "t"\n  owner = ops\n  file "${target}" { integrity = sha256 baseline = "${copy}" repair = content }\n}\n`);
    const r = covenant(["run", "--state", join(dir, "state"), policies]);
    expect(r.out).toContain(`error    file "${target}": the directory ${theirs}, on the way to the approved copy ${copy}, is owned by uid 65534, not root`);
    expect(r.code).toBe(1);
    expect(readFileSync(target, "utf8")).toBe("root ALL=(ALL) ALL\n");
    // root's directory, nobody's file: refused too
    chownSync(theirs, 0, 0);
    const file = covenant(["run", "--state", join(dir, "state"), policies]);
    expect(file.out).toContain(`the approved copy ${copy} is owned by uid 65534, not root`);
    expect(readFileSync(target, "utf8")).toBe("root ALL=(ALL) ALL\n");
  });

  it("a command whose program another user can change is not run as root", () => {
    const dir = temp();
    const theirs = join(dir, "theirs");
    mkdirSync(theirs);
    const program = join(theirs, "check.sh");
    const marker = join(dir, "ran");
    writeFileSync(program, `#!/bin/sh\n/usr/bin/id -u >> ${marker}\n`, { mode: 0o777 });
    chmodSync(program, 0o777);
    chownSync(theirs, NOBODY, NOBODY);
    chownSync(program, NOBODY, NOBODY);
    const policies = join(dir, "policies");
    mkdirSync(policies);
    writeFileSync(join(policies, "main.promise"), `stakeholder ops\ncontrol "A" {\n  title = "t"\n  owner = ops\n  command ["${program}"] { exit_code = 0 }\n}\n`);
    const r = covenant(["run", "--dry-run", "--state", join(dir, "state"), policies]);
    expect(r.out).toContain(`\`${program}\` was not run: the directory ${theirs}, on the way to the program ${program}, is owned by uid 65534, not root: as root, Covenant runs only programs no other user can change`);
    expect(r.code).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });

  it("the README's quick start runs as root from a checkout root owns", () => {
    const r = covenant(["run", "--sandbox-dir", join(temp(), "sandbox"), "--config", "examples/sox/covenant.yaml", "examples/sox"]);
    expect(r.err).not.toContain("E122");
    expect(r.err).not.toMatch(/error E3/);
    expect([0, 1]).toContain(r.code);
  });
});
