// As root, Covenant uses only state that no other user can change (the rule of sshd's StrictModes
// and sudo): each reproduction plants what an ordinary user could (uid 65534, nobody) and
// checks that root refuses it, naming the file and the fix, and uses nothing of it.
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { removeTempDirs, tempDir } from "./helpers.ts";

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
    const message = `the state directory ${l.state} is owned by uid 65534, not root: as root, Covenant uses only state that no other user can change; fix: chown root:root ${l.state} && chmod go-w ${l.state}, or choose another --state`;
    for (const args of [["run", "--state", l.state, l.policy], ["verify", "--state", l.state], ["history", "--state", l.state]]) refused(args, message);
    chownSync(l.state, 0, 0);
    chmodSync(l.state, 0o777);
    refused(["run", "--state", l.state, l.policy], `the state directory ${l.state} is writable by group and others (mode 0777)`);
    // the refused directory was not chmod'ed into shape behind the operator's back
    expect(lstatSync(l.state).mode & 0o777).toBe(0o777);
    chmodSync(l.state, 0o700);
    expect(covenant(["run", "--state", l.state, l.policy]).code).toBe(0);
  });

  it("a directory on the way that others can write, unless it is sticky like /tmp", () => {
    const l = setup();
    chmodSync(l.dir, 0o777);
    refused(["run", "--state", l.state, l.policy], `the directory ${l.dir}, on the way to the state directory ${l.state}, is writable by group and others (mode 0777)`);
    chmodSync(l.dir, 0o1777);
    expect(covenant(["run", "--state", l.state, l.policy]).code).toBe(0);
  });

  for (const file of ["host.key", "ledger.head", "state.db", "run.lock"]) {
    it(`${file} owned by another user, or writable by group`, () => {
      const l = setup();
      const path = join(l.state, file);
      if (!existsSync(path)) writeFileSync(path, JSON.stringify({ pid: 999999, startTicks: 1, startedAt: "then" }), { mode: 0o600 });
      chownSync(path, NOBODY, NOBODY);
      refused(["run", "--state", l.state, l.policy], new RegExp(`${path} is owned by uid 65534, not root: .*fix: chown root:root ${path} && chmod go-w ${path}`));
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
    const secrets = join(l.dir, "secrets");
    mkdirSync(secrets, { mode: 0o700 });
    const key = join(secrets, "host.key");
    writeFileSync(key, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
    const state = join(l.dir, "state2");
    const env = { COVENANT_HOST_KEY_FILE: key };
    expect(covenant(["run", "--state", state, l.policy], { env }).code).toBe(0);
    chownSync(key, NOBODY, NOBODY);
    refused(["run", "--state", state, l.policy], `the host key ${key} (COVENANT_HOST_KEY_FILE) is owned by uid 65534, not root`, env);
    refused(["verify", "--state", state], `the host key ${key} (COVENANT_HOST_KEY_FILE) is owned by uid 65534`, env);
    chownSync(key, 0, 0);
    chmodSync(secrets, 0o777);
    refused(["run", "--state", state, l.policy], `the directory ${secrets}, on the way to the host key ${key} (COVENANT_HOST_KEY_FILE), is writable by group and others`, env);
    chmodSync(secrets, 0o700);
    // a link to the key, as a secrets mount makes, is followed, and what it names is checked
    const link = join(l.dir, "key-link");
    symlinkSync(key, link);
    expect(covenant(["run", "--state", state, l.policy], { env: { COVENANT_HOST_KEY_FILE: link } }).code).toBe(0);
    chownSync(key, NOBODY, NOBODY);
    refused(["run", "--state", state, l.policy], `is owned by uid 65534, not root`, { COVENANT_HOST_KEY_FILE: link });
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
