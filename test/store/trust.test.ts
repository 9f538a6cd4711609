// As root, Covenant uses only state that no other user can change (the rule of sshd's StrictModes
// and sudo): each reproduction plants what an ordinary user could (uid 65534, nobody) and
// checks that root refuses it, naming the file and the fix, and uses nothing of it.
import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, lchownSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { createHostKey, readHostKey } from "../../src/store/host-key.ts";
import { removeTempDirs, secretsDir, tempDir } from "./helpers.ts";

afterAll(() => removeTempDirs());

const NOBODY = 65534;
const root = process.getuid?.() === 0;

beforeAll(() => ensureBuilt());

/** A policy that is kept, and a state directory beside it that has seen one run. */
function setup(): { dir: string; policy: string; state: string } {
  const dir = tempDir("trust");
  const file = join(dir, "gl.dat");
  writeFileSync(file, "entry\n");
  chmodSync(file, 0o640);
  const policy = join(dir, "ledger.promise");
  writeFileSync(policy, `control "ITGC-CM-02" {\n  title = "Ledger files"\n  file "${file}" { mode = 0640 }\n}\n`);
  const state = join(dir, "state");
  expect(covenant(["run", "--state", state, policy]).code).toBe(0);
  return { dir, policy, state };
}

function refused(args: string[], message: string | RegExp, env: Record<string, string> = {}): void {
  const r = covenant(args, { env });
  expect(r.code, `${args.join(" ")}: ${r.out}${r.err}`).toBe(2);
  if (typeof message === "string") expect(r.err).toContain(message);
  else expect(r.err).toMatch(message);
}

describe.skipIf(!root)("as root, state another user can change is refused (skipped: these tests need root)", () => {
  it("a state directory owned by another user, or writable by others", () => {
    const l = setup();
    chownSync(l.state, NOBODY, NOBODY);
    // the fix never tells root to adopt (chown) what another user made
    const message = `the state directory ${l.state} is owned by uid 65534, not root: as root, Covenant uses only state that no other user can change; fix: move ${l.state} aside and keep it as evidence (Covenant never adopts what another user made): a run as root then makes a new one; or choose another --state`;
    for (const args of [["run", "--state", l.state, l.policy], ["verify", "--state", l.state], ["history", "--state", l.state]]) refused(args, message);
    chownSync(l.state, 0, 0);
    chmodSync(l.state, 0o777);
    refused(["run", "--state", l.state, l.policy], `the state directory ${l.state} is writable by group and others (mode 0777): as root, Covenant uses only state that no other user can change; fix: chmod go-w ${l.state}, or choose another --state`);
    // the refused directory was not chmod'ed into shape behind the operator's back
    expect(lstatSync(l.state).mode & 0o777).toBe(0o777);
    chmodSync(l.state, 0o700);
    expect(covenant(["run", "--state", l.state, l.policy]).code).toBe(0);
  });

  it("a directory on the way that others can write, unless it is sticky like /tmp", () => {
    const l = setup();
    // the policy kept apart, where root trusts it: here only the state's way is judged (the
    // policy's own directory may not be writable by others even with the sticky bit: test/cli/policy-trust.test.ts)
    const policy = join(tempDir("trust-policy"), "ledger.promise");
    writeFileSync(policy, readFileSync(l.policy));
    chmodSync(l.dir, 0o777);
    refused(["run", "--state", l.state, policy], `the directory ${l.dir}, on the way to the state directory ${l.state}, is writable by group and others (mode 0777)`);
    chmodSync(l.dir, 0o1777);
    expect(covenant(["run", "--state", l.state, policy]).code).toBe(0);
  });

  for (const file of ["host.key", "ledger.head", "state.db", "run.lock"]) {
    it(`${file} owned by another user, or writable by group`, () => {
      const l = setup();
      const path = join(l.state, file);
      if (!existsSync(path)) writeFileSync(path, JSON.stringify({ pid: 999999, startTicks: 1, startedAt: "then" }), { mode: 0o600 });
      chownSync(path, NOBODY, NOBODY);
      const r = covenant(["run", "--state", l.state, l.policy]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`${path} is owned by uid 65534, not root: .*fix: (move (${path}|it) aside and keep it as evidence|remove ${path}) \\(Covenant never adopts what another user made\\)`));
      expect(r.err).not.toContain("chown");
      chownSync(path, 0, 0);
      chmodSync(path, 0o660);
      refused(["run", "--state", l.state, l.policy], `${path} is writable by its group (mode 0660)`);
      if (file !== "run.lock") refused(["verify", "--state", l.state], `${path} is writable by its group`);
    });
  }

  it("a link where a file of the state should be", () => {
    const l = setup();
    const elsewhere = join(l.dir, "elsewhere");
    writeFileSync(elsewhere, readFileSync(join(l.state, "ledger.head")));
    const head = join(l.state, "ledger.head");
    rmSync(head);
    symlinkSync(elsewhere, head);
    refused(["run", "--state", l.state, l.policy], `the head anchor ${head} is a symbolic link: Covenant never makes one there; remove it`);
  });

  it("an all-zero host.key planted by another user before the first run is never used", () => {
    const dir = tempDir("trust");
    const state = join(dir, "state");
    mkdirSync(state, { mode: 0o700 });
    writeFileSync(join(state, "host.key"), "00".repeat(32) + "\n", { mode: 0o600 });
    chownSync(join(state, "host.key"), NOBODY, NOBODY);
    const policy = join(dir, "p.promise");
    writeFileSync(policy, `control "C-1" {\n  title = "t"\n  file "${policy}" { mode = 0644 }\n}\n`);
    chmodSync(policy, 0o644);
    refused(["run", "--state", state, policy], `the host key ${join(state, "host.key")} is owned by uid 65534, not root`);
    expect(existsSync(join(state, "state.db"))).toBe(false);
  });

  it("COVENANT_HOST_KEY_FILE owned by another user, or in a directory others can write", () => {
    const l = setup();
    const secrets = secretsDir();
    const key = join(secrets, "host.key");
    writeFileSync(key, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
    const state = join(l.dir, "state2");
    const env = { COVENANT_HOST_KEY_FILE: key };
    expect(covenant(["run", "--state", state, l.policy], { env }).code).toBe(0);
    chownSync(key, NOBODY, NOBODY);
    refused(["run", "--state", state, l.policy], `the host key ${key} (COVENANT_HOST_KEY_FILE) is owned by uid 65534, not root: someone else made it, so it is not used`, env);
    refused(["verify", "--state", state], `the host key ${key} (COVENANT_HOST_KEY_FILE) is owned by uid 65534`, env);
    chownSync(key, 0, 0);
    chmodSync(secrets, 0o777);
    refused(["run", "--state", state, l.policy], `the directory ${secrets}, on the way to the host key ${key} (COVENANT_HOST_KEY_FILE), is writable by group and others`, env);
    chmodSync(secrets, 0o700);
    // a link to the key, as a secrets mount makes, is followed, and what it names is checked
    const link = join(secretsDir(), "key-link");
    symlinkSync(key, link);
    expect(covenant(["run", "--state", state, l.policy], { env: { COVENANT_HOST_KEY_FILE: link } }).code).toBe(0);
    chownSync(key, NOBODY, NOBODY);
    refused(["run", "--state", state, l.policy], `is owned by uid 65534, not root`, { COVENANT_HOST_KEY_FILE: link });
  });

  it("a key others can read, or with a second name, is refused as sshd refuses such a private key", () => {
    const l = setup();
    const key = join(l.state, "host.key");
    chmodSync(key, 0o644);
    refused(["run", "--state", l.state, l.policy], `the host key ${key} can be read by others (mode 0644): whoever read it can forge the history, so it is not used`);
    refused(["verify", "--state", l.state], `the host key ${key} can be read by others (mode 0644)`);
    chmodSync(key, 0o640);
    refused(["history", "--state", l.state], `the host key ${key} can be read by its group (mode 0640)`);
    chmodSync(key, 0o600);
    const second = join(l.state, "..", "another-name");
    linkSync(key, second);
    refused(["run", "--state", l.state, l.policy], `the host key ${key} has 2 names (hard links)`);
    rmSync(second);
    expect(covenant(["run", "--state", l.state, l.policy]).code).toBe(0);
    // kept elsewhere, the same
    const elsewhere = join(secretsDir(), "host.key");
    writeFileSync(elsewhere, randomBytes(32).toString("hex") + "\n", { mode: 0o644 });
    chmodSync(elsewhere, 0o644);
    refused(["run", "--state", join(l.dir, "state3"), l.policy], `the host key ${elsewhere} (COVENANT_HOST_KEY_FILE) can be read by others (mode 0644)`, { COVENANT_HOST_KEY_FILE: elsewhere });
    expect(existsSync(join(l.dir, "state3", "state.db"))).toBe(false);
  });

  it("a key in a sticky directory such as /tmp is refused before anything is made: anyone can create its name first", () => {
    const l = setup();
    const sticky = tempDir("sticky");
    chmodSync(sticky, 0o1777);
    const key = join(sticky, "covkey.test");
    const state = join(l.dir, "state-sticky");
    // /tmp itself is the first sticky directory on the way
    refused(["run", "--state", state, l.policy], `the directory /tmp, on the way to the host key ${key} (COVENANT_HOST_KEY_FILE), is writable by group and others (mode 1777)`, { COVENANT_HOST_KEY_FILE: key });
    expect(readdirSync(sticky)).toEqual([]);
    expect(existsSync(join(state, "state.db"))).toBe(false);
  });

  it("another user racing to plant the key as it is made never has it used", async () => {
    // the review's attack: in a world-writable sticky directory, watch for the new key's
    // temporary name (inotify) and create the key's own name first, with a key of one's own
    const l = setup();
    const sticky = tempDir("race");
    chmodSync(sticky, 0o1777);
    const key = join(sticky, "host.key");
    const planted = "5a".repeat(16) + randomBytes(16).toString("hex");
    const racer = join(sticky, "racer.mjs");
    writeFileSync(
      racer,
      `import { watch, openSync, writeSync, closeSync, constants } from "node:fs";
watch(${JSON.stringify(sticky)}, (_, name) => {
  if (!name || !name.startsWith(".host.key.")) return;
  try {
    const fd = openSync(${JSON.stringify(key)}, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    writeSync(fd, ${JSON.stringify(planted + "\n")});
    closeSync(fd);
  } catch {}
});
setTimeout(() => process.exit(0), 60000);
`,
    );
    chmodSync(racer, 0o644);
    const child = spawn(process.execPath, [racer], { uid: NOBODY, gid: NOBODY, stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 10; i++) {
        const state = join(l.dir, `race-${i}`);
        const r = covenant(["run", "--state", state, l.policy], { env: { COVENANT_HOST_KEY_FILE: key } });
        // (before the fix the racer won: root found the name taken, read the planted key and sealed the store with it)
        const usedPlanted = r.code === 0 && existsSync(key) && readFileSync(key, "utf8").trim() === planted;
        expect(usedPlanted, `run ${i} sealed its store with the planted key`).toBe(false);
        expect(r.code, r.err).toBe(2);
        // nothing was sealed with the planted key: no store, no head
        expect(existsSync(join(state, "ledger.head"))).toBe(false);
        rmSync(key, { force: true });
      }
    } finally {
      child.kill();
    }
  });

  it("a link on the way that another user owns is refused, even behind root's own link", () => {
    // root's /tmp/…/chain/L1 -> nobody's chain/atk/L2 -> a directory of root's: nobody can point
    // L2 at /etc at any moment, so root must not chmod or fill what it leads to
    const base = tempDir("chain");
    const target = join(base, "roots-dir");
    mkdirSync(target, { mode: 0o755 });
    const atk = join(base, "atk");
    mkdirSync(atk, { mode: 0o755 });
    chownSync(atk, NOBODY, NOBODY);
    symlinkSync(target, join(atk, "L2"));
    lchownSync(join(atk, "L2"), NOBODY, NOBODY);
    symlinkSync(join(atk, "L2"), join(base, "L1"));
    const policy = join(base, "p.promise");
    writeFileSync(policy, `control "C-1" {\n  title = "t"\n  file "${policy}" { mode = 0644 }\n}\n`);
    chmodSync(policy, 0o644);
    for (const state of [join(base, "L1"), join(base, "L1", "state")]) {
      const r = covenant(["run", "--state", state, policy]);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(/the (directory|link) .*\/atk(\/L2)?, on the way to the state directory .*, is owned by uid 65534, not root/);
    }
    expect(lstatSync(target).mode & 0o777).toBe(0o755);
    expect(readdirSync(target)).toEqual([]);
    // the same chain as the key's way
    const r = covenant(["run", "--state", join(base, "state-k"), policy], { env: { COVENANT_HOST_KEY_FILE: join(base, "L1", "host.key") } });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/on the way to the host key .* is owned by uid 65534, not root|is writable by group and others/);
  });
});

describe.skipIf(!root)("the key is judged on the descriptor read (skipped: these tests need root)", () => {
  it("a key made by someone else between the checks and the read is refused, and a name taken while the key is made is not read", () => {
    const dir = secretsDir();
    const key = join(dir, "host.key");
    writeFileSync(key, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
    chownSync(key, NOBODY, NOBODY);
    // readHostKey does not rely on an earlier lstat: it judges the file it opened
    expect(() => readHostKey(key, true)).toThrow(/is owned by uid 65534, not root: someone else made it, so it is not used/);
    // and creating a key where a file appeared fails rather than read that file
    expect(() => createHostKey(key, randomBytes(32))).toThrow(/a file appeared there while Covenant was making it, so someone else made it; it is not used/);
  });
});

describe("temporary files in the state directory", () => {
  it("a planted ledger.head.tmp link is never written through", () => {
    const l = setup();
    const victim = join(l.dir, "victim");
    writeFileSync(victim, "root's file\n", { mode: 0o644 });
    symlinkSync(victim, join(l.state, "ledger.head.tmp"));
    expect(covenant(["run", "--state", l.state, l.policy]).code).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("root's file\n");
    expect(lstatSync(join(l.state, "ledger.head")).isFile()).toBe(true);
    expect(covenant(["verify", "--state", l.state]).code).toBe(0);
  });
});
