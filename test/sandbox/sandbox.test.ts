// The sandbox and --dry-run mean exactly what they say: a sandbox changes nothing outside
// itself, runs no command against the real host, and shows no false deficiency to an ordinary
// user; a dry run approves nothing and learns nothing.
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { parseManifest, SandboxError } from "../../src/sandbox/sandbox.ts";
import { bin, covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), `covenant-${prefix}-`));

/** A policy directory with a sandbox.json of the given entries. */
function policyWith(manifest: object, policy: string): string {
  const dir = temp("sbpol");
  writeFileSync(join(dir, "sandbox.json"), JSON.stringify({ users: ["root", "ledger"], groups: { root: [], finance: ["ledger"] }, directories: [], files: [], ...manifest }));
  writeFileSync(join(dir, "test.promise"), policy);
  return dir;
}

describe("sandbox.json", () => {
  it("a path that climbs out of the sandbox is refused, and the file it names is untouched", () => {
    const victimDir = temp("victim");
    const victim = join(victimDir, "victim");
    writeFileSync(victim, "root's own\n");
    chmodSync(victim, 0o600);
    const climb = `/../../../../../../../..${victim}`;
    const dir = policyWith({ files: [{ path: climb, mode: "0666", content: "overwritten\n" }] }, 'control "T-1" {\n  title = "t"\n  file "/srv/x" { mode = 0640 }\n}\n');
    const sandbox = join(temp("sb"), "sandbox");
    const r = covenant(["run", "--dry-run", "--sandbox-dir", sandbox, dir]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`files[0].path ${JSON.stringify(climb)} has a \`..\` component: sandbox paths may not leave the sandbox`);
    expect(readFileSync(victim, "utf8")).toBe("root's own\n");
    expect(statSync(victim).mode & 0o7777).toBe(0o600);
    expect(existsSync(sandbox)).toBe(false);
  });

  it("every problem of a manifest is reported at once", () => {
    const text = JSON.stringify({
      users: ["root", "evil:x:0:0::/:/bin/sh"],
      groups: { finance: "ledger" },
      directories: [{ path: "relative/dir", mode: "0750" }],
      files: [{ path: "/srv/a\u0000b", mode: "rw-r-----", content: 3 }],
    });
    let message = "";
    try {
      parseManifest(text, "sandbox.json");
    } catch (err) {
      expect(err).toBeInstanceOf(SandboxError);
      message = (err as Error).message;
    }
    for (const problem of [
      'users[1] must be an account name such as `ledger` (letters, digits, `_`, `.`, `-`), got "evil:x:0:0::/:/bin/sh"',
      "the members of group `finance` must be a list",
      'directories[0].path must be an absolute path such as "/srv/ledger", got "relative/dir"',
      "files[0].path must be an absolute path",
      'files[0].mode must be an octal mode in a string, such as "0640"',
      "files[0].content must be a string",
    ])
      expect(message).toContain(problem);
  });

  it("paths are normalised: `/srv//ledger/` is /srv/ledger", () => {
    const m = parseManifest(JSON.stringify({ users: [], groups: {}, directories: [{ path: "/srv//ledger/", mode: "0750" }], files: [] }), "x");
    expect(m.directories[0]!.path).toBe("/srv/ledger");
  });
});

describe("commands in the sandbox and in a dry run", () => {
  it("a command promise is skipped in the sandbox, with the reason, and runs in a dry run", () => {
    const marker = join(temp("cmd"), "ran");
    const policy = `control "T-1" {\n  title = "t"\n  command ["/usr/bin/touch", "${marker}"] { exit_code = 0 }\n}\n`;
    const dir = policyWith({}, policy);
    const sandboxed = covenant(["run", "--json", "--sandbox-dir", join(temp("sb"), "sandbox"), dir]);
    const result = JSON.parse(sandboxed.out).controls[0].promises[0];
    expect(result).toMatchObject({ outcome: "skipped", reason: expect.stringContaining("not run in the sandbox: a command reads the real host") });
    expect(existsSync(marker)).toBe(false);
    const dry = covenant(["run", "--dry-run", "--state", join(temp("st"), "state"), join(dir, "test.promise")]);
    expect(dry.code).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });
});

describe("a dry run is a preview", () => {
  it("approves no integrity baseline, learns no band, and records only its summary", () => {
    const dir = temp("dry");
    const f = join(dir, "gl.dat");
    writeFileSync(f, "tampered before the first real run\n");
    const policy = join(dir, "p.promise");
    writeFileSync(policy, `control "T-1" {\n  title = "t"\n  file "${f}" { integrity = sha256 }\n  load { max_1m = 100000 anomaly = 3 sigma }\n}\n`);
    const state = join(dir, "state");
    const dry = covenant(["run", "--dry-run", "--state", state, policy]);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain(`${f}: no sha256 baseline yet; a dry run approves none`);
    const db = new Database(join(state, "state.db"), { readonly: true });
    expect(db.prepare("SELECT count(*) FROM baselines").pluck().get()).toBe(0);
    expect(db.prepare("SELECT count(*) FROM bands").pluck().get()).toBe(0);
    expect(db.prepare("SELECT count(*) FROM current").pluck().get()).toBe(0);
    // its summary, and the policy version it ran (stored once per store, dry run or not)
    expect(db.prepare("SELECT kind FROM ledger").pluck().all()).toEqual(["policy", "run"]);
    expect(JSON.parse(db.prepare("SELECT body FROM ledger WHERE kind = 'run'").pluck().get() as string).dryRun).toBe(true);
    db.close();
    // the first real run approves what it finds then, and records the states
    writeFileSync(f, "approved content\n");
    expect(covenant(["run", "--state", state, policy]).code).toBe(0);
    writeFileSync(f, "changed after approval\n");
    const real = covenant(["run", "--state", state, policy]);
    expect(real.code).toBe(1);
    expect(real.out).toContain("content differs from the baseline");
  });
});

describe("the quick start as an ordinary user", () => {
  // the package must be readable by `nobody` for this test: a checkout in a private home is not
  const reachable = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "test", "-r", join(process.cwd(), "bin/covenant.js")]).status === 0;

  it.skipIf(!reachable)("reports no false deficiency in the access controls (every user is not a member of every group)", () => {
    const home = temp("nobody");
    chownSync(home, 65534, 65534);
    const examples = join(home, "examples");
    cpSync("examples/sox", examples, { recursive: true });
    spawnSync("chown", ["-R", "65534:65534", examples]);
    const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", bin, "run", "--json", "--sandbox-dir", join(home, "sandbox"), "--config", join(examples, "covenant.yaml"), examples], {
      encoding: "utf8",
      env: { ...process.env, HOME: home, TZ: "America/New_York" },
      cwd: home,
    });
    expect(r.stderr).toBe("");
    expect([0, 1]).toContain(r.status);
    const report = JSON.parse(r.stdout) as { controls: { id: string; verdict: string; promises: { reason: string }[] }[] };
    const access = report.controls.find((c) => c.id === "ITGC-AC-03")!;
    expect(access.verdict, access.promises.map((p) => p.reason).join("\n")).toBe("kept");
    expect(statSync(join(home, "sandbox")).uid).toBe(65534);
  });
});

describe("the sandbox directory", () => {
  it.runIf(process.getuid?.() === 0)("as root, a sandbox.json another user owns or can write is refused, and nothing is created", () => {
    const policy = 'control "T-1" {\n  title = "t"\n  file "/srv/x" { mode = 0640 }\n}\n';
    const owned = policyWith({ files: [{ path: "/srv/x", mode: "0640", content: "x\n" }] }, policy);
    chownSync(join(owned, "sandbox.json"), 65534, 65534);
    const sandbox = join(temp("sb"), "sandbox");
    const r = covenant(["run", "--sandbox-dir", sandbox, owned]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${join(owned, "sandbox.json")} is owned by uid 65534, not root`);
    expect(existsSync(sandbox)).toBe(false);

    const open = policyWith({}, policy);
    chmodSync(join(open, "sandbox.json"), 0o666);
    const r2 = covenant(["run", "--sandbox-dir", sandbox, open]);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain("is writable by others (mode 0666)");
    expect(existsSync(sandbox)).toBe(false);
  });

  it("a sandbox.json that is a FIFO or a link is an error, not a hang", () => {
    const policy = 'control "T-1" {\n  title = "t"\n  file "/srv/x" { mode = 0640 }\n}\n';
    const fifo = policyWith({}, policy);
    rmSync(join(fifo, "sandbox.json"));
    expect(spawnSync("mkfifo", [join(fifo, "sandbox.json")]).status).toBe(0);
    const r = covenant(["run", "--sandbox-dir", join(temp("sb"), "sandbox"), fifo]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("sandbox.json is a FIFO, not a regular file");

    const linked = policyWith({}, policy);
    const elsewhere = join(temp("sbm"), "sandbox.json");
    renameSync(join(linked, "sandbox.json"), elsewhere);
    symlinkSync(elsewhere, join(linked, "sandbox.json"));
    const r2 = covenant(["run", "--sandbox-dir", join(temp("sb"), "sandbox"), linked]);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain("sandbox.json is a symbolic link, not a regular file");
  }, 30_000);

  it("an existing sandbox is reused as it is: its manifest is not parsed again, and a changed or other one is noted", () => {
    const policy = 'control "T-1" {\n  title = "t"\n  file "/srv/x" { mode = 0640 }\n}\n';
    const dir = policyWith({ files: [{ path: "/srv/x", mode: "0640", content: "a" }] }, policy);
    const sandbox = join(temp("sb"), "sandbox");
    const run = (policyDir: string) => covenant(["run", "--sandbox-dir", sandbox, policyDir]);
    const first = run(dir);
    expect(first.code).toBe(0);
    expect(first.out).toContain(`note: sandbox created in ${sandbox}`);
    expect(readFileSync(join(sandbox, ".covenant-sandbox"), "utf8")).toContain(`from ${join(dir, "sandbox.json")}\n`);
    // the same manifest: reused without a word
    const again = run(dir);
    expect(again.code).toBe(0);
    expect(again.out).not.toContain("sandbox created");
    expect(again.out).not.toContain("reused as it is");

    // the manifest made invalid since: not parsed, the sandbox reused, the change noted
    writeFileSync(join(dir, "sandbox.json"), "{ not json");
    const changed = run(dir);
    expect(changed.err).toBe("");
    expect(changed.code).toBe(0);
    expect(changed.out).toContain(`note: the sandbox ${sandbox} was made from an older ${join(dir, "sandbox.json")} (it has changed since): reused as it is (remove ${sandbox} to start again`);

    // another valid manifest, which would make /srv/x 0600: ignored (the file is still 0640), and said so
    const other = policyWith({ files: [{ path: "/srv/x", mode: "0600", content: "b" }] }, policy);
    const elsewhere = run(other);
    expect(elsewhere.code).toBe(0);
    expect(elsewhere.out).toContain(`note: the sandbox ${sandbox} was made from another manifest (${join(dir, "sandbox.json")}, not ${join(other, "sandbox.json")}): reused as it is`);
    expect(statSync(join(sandbox, "root/srv/x")).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(sandbox, "root/srv/x"), "utf8")).toBe("a");
  }, 30_000);

  it("a sandbox whose creation fails is a clear error, not an internal one", () => {
    const dir = policyWith({ directories: [{ path: "/srv/x", mode: "0750" }], files: [{ path: "/srv/x", mode: "0640", content: "" }] }, 'control "T-1" {\n  title = "t"\n  file "/srv/x" { mode = 0640 }\n}\n');
    const parent = temp("sb");
    const r = covenant(["run", "--sandbox-dir", join(parent, "sandbox"), dir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/covenant run: cannot create the sandbox in .* EEXIST/);
    // nothing half-made is left to block the next run
    expect(existsSync(join(parent, "sandbox"))).toBe(false);
  });
});
