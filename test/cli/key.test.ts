// `covenant key export` and `covenant key rotate` through the built CLI on a real store: the PEM
// parses with openssl, the fingerprint is said on stderr, nothing private is printed; rotating
// twice leaves two records `history` shows and `verify` accepts; `--host` rotates the host key
// (runs, verify, history and the report intact across it; a nodiff baseline still kept); a
// store-less directory is a usage error.
import { spawnSync } from "node:child_process";
import { createHash, createPublicKey } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());
const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function store(): { dir: string; state: string } {
  const dir = mkdtempSync(join(tmpdir(), "covenant-key-"));
  made.push(dir);
  mkdirSync(join(dir, "policy"));
  writeFileSync(join(dir, "gl.dat"), "entry\n", { mode: 0o640 });
  writeFileSync(join(dir, "policy", "p.promise"), `control "ITGC-CM-02" {\n  title = "Ledger"\n  file "${dir}/gl.dat" { mode = 0640 }\n}\n`);
  const state = join(dir, "state");
  expect(covenant(["run", "--state", state, join(dir, "policy")]).code).toBe(0);
  return { dir, state };
}

describe("covenant key", () => {
  it("export refuses a directory with no store (exit 2) and makes nothing there", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-key-none-"));
    made.push(dir);
    const r = covenant(["key", "export", "--state", join(dir, "state")]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^covenant key export: no store in .*state/);
  });

  it("export prints a public key openssl reads, says its fingerprint on stderr, and the same key each time", () => {
    const { dir, state } = store();
    const r = covenant(["key", "export", "--state", state]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/);
    expect(r.out + r.err).not.toContain("PRIVATE");
    const raw = Buffer.from(createPublicKey(r.out).export({ format: "jwk" }).x!, "base64url");
    const fingerprint = `ed25519:${createHash("sha256").update(raw).digest("hex").slice(0, 32)}`;
    expect(r.err).toContain(`signing key fingerprint: ${fingerprint}`);
    const pem = join(dir, "pub.pem");
    expect(covenant(["key", "export", "--state", state, "--out", pem]).code).toBe(0);
    expect(readFileSync(pem, "utf8")).toBe(r.out);
    const openssl = spawnSync("openssl", ["pkey", "-pubin", "-in", pem, "-noout", "-text"], { encoding: "utf8" });
    expect(openssl.status).toBe(0);
    expect(openssl.stdout).toMatch(/ED25519 Public-Key/);
    const again = covenant(["key", "export", "--state", state, "--out", pem]);
    expect(again.code).toBe(2);
    expect(again.err).toContain("EEXIST");
  });

  it("rotate twice: history shows both rotations old → new with who and why; verify is intact; export gives the new key", () => {
    const { state } = store();
    expect(covenant(["key", "rotate", "--state", state, "--reason", "none yet"]).err).toMatch(/no signing key to rotate .* `covenant key export` makes the first one/);
    const first = covenant(["key", "export", "--state", state]).err.match(/ed25519:[0-9a-f]{32}/)![0];
    const one = covenant(["key", "rotate", "--state", state, "--reason", "CHG-1 yearly", "--by", "Alice Admin", "--json"]);
    expect(one.code).toBe(0);
    const oneJson = JSON.parse(one.out) as { record: number; old: string; new: string };
    expect(oneJson.old).toBe(first);
    const two = covenant(["key", "rotate", "--signing", "--state", state, "--reason", "laptop stolen"]);
    expect(two.code).toBe(0);
    expect(two.out).toMatch(new RegExp(`^rotated the signing key: ${oneJson.new} → (ed25519:[0-9a-f]{32}) \\(history record \\d+, signed by both keys\\); the old private key is removed`));
    const second = two.out.match(/→ (ed25519:[0-9a-f]{32})/)![1]!;
    const history = covenant(["history", "--state", state]).out.split("\n").filter((l) => l.includes("key rotated"));
    expect(history).toHaveLength(2);
    expect(history[0]).toMatch(new RegExp(`#${oneJson.record}  signing key rotated: ${first} → ${oneJson.new} by Alice Admin as \\S+ \\((no login uid|login uid \\d+)\\): CHG-1 yearly$`));
    expect(history[1]).toContain(`${oneJson.new} → ${second} by `);
    expect(covenant(["verify", "--state", state]).code).toBe(0);
    expect(covenant(["key", "export", "--state", state]).err).toContain(second);
  });

  it("COVENANT_SIGNING_KEY_FILE keeps the key elsewhere (a secrets directory only root can write), and rotation's waiting key beside it", () => {
    const { state } = store();
    const secrets = mkdtempSync(join(process.getuid?.() === 0 ? "/run" : tmpdir(), "covenant-secrets-"));
    made.push(secrets);
    const env = { COVENANT_SIGNING_KEY_FILE: join(secrets, "signing.pem") };
    const r = covenant(["key", "export", "--state", state], { env });
    expect(r.code).toBe(0);
    expect(readFileSync(join(secrets, "signing.pem"), "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(() => readFileSync(join(state, "signing.key"))).toThrow(/ENOENT/);
    expect(covenant(["key", "rotate", "--state", state], { env }).code).toBe(0);
    expect(covenant(["key", "export", "--state", state], { env }).err).not.toContain(r.err.match(/ed25519:\w+/)![0]);
    expect(covenant(["verify", "--state", state]).code).toBe(0);
  });

  it("a rotation stopped after its record: export uses the waiting key and says so, and rotate finishes it", () => {
    const { dir, state } = store();
    const first = covenant(["key", "export", "--state", state]).err.match(/ed25519:[0-9a-f]{32}/)![0];
    const saved = join(dir, "old.key");
    copyFileSync(join(state, "signing.key"), saved);
    const rotated = JSON.parse(covenant(["key", "rotate", "--state", state, "--json"]).out) as { new: string };
    // as if stopped between the record and the rename: the new key waits, the old is still in place
    renameSync(join(state, "signing.key"), join(state, "signing.key.next"));
    copyFileSync(saved, join(state, "signing.key"));
    chmodSync(join(state, "signing.key"), 0o600);
    const exported = covenant(["key", "export", "--state", state]);
    expect(exported.err).toContain(rotated.new);
    expect(exported.err).not.toContain(first);
    expect(exported.err).toContain("note: the last rotation is recorded but did not finish");
    const finished = covenant(["key", "rotate", "--state", state]);
    expect(finished.code).toBe(0);
    expect(finished.out).toContain(`finished the rotation already recorded: the signing key is now ${rotated.new}`);
    const after = covenant(["key", "export", "--state", state]);
    expect(after.err).toContain(rotated.new);
    expect(after.err).not.toContain("note:");
    expect(covenant(["verify", "--state", state]).code).toBe(0);
  });

  it("rotate --host: text and JSON name the keys by id only; history shows it; runs after it and verify are intact; --host with --signing is refused", () => {
    const { dir, state } = store();
    const policy = join(dir, "policy");
    const oldKey = readFileSync(join(state, "host.key"), "utf8").trim();
    const one = covenant(["key", "rotate", "--host", "--state", state, "--reason", "INC-7 key in a backup", "--by", "Alice Admin"]);
    expect(one.code).toBe(0);
    const m = one.out.match(/^rotated the host key: ([0-9a-f]{16}) → ([0-9a-f]{16}) \(history record (\d+), MAC'd with the old key and accepted by the new\)/)!;
    expect(m).not.toBeNull();
    expect(one.out).toContain("host.key.retired");
    const newKey = readFileSync(join(state, "host.key"), "utf8").trim();
    expect(newKey).not.toBe(oldKey);
    expect(readFileSync(join(state, "host.key.retired"), "utf8")).toBe(`${m[3]} ${oldKey}\n`);
    expect(covenant(["run", "--quiet", "--state", state, policy]).code).toBe(0);
    const two = covenant(["key", "rotate", "--host", "--state", state, "--json"]);
    expect(two.code).toBe(0);
    const json = JSON.parse(two.out) as { key: string; record: number; old: string; new: string };
    expect(json).toMatchObject({ key: "host", old: m[2] });
    expect(covenant(["run", "--quiet", "--state", state, policy]).code).toBe(0);
    const history = covenant(["history", "--state", state]);
    const lines = history.out.split("\n").filter((l) => l.includes("host key rotated"));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`#${m[3]}  host key rotated: id ${m[1]} → id ${m[2]} by Alice Admin as \\S+ \\((no login uid|login uid \\d+)\\): INC-7 key in a backup$`));
    expect(history.out).not.toMatch(/unverified|not verified|TAMPERED/i);
    const verify = covenant(["verify", "--state", state]);
    expect(verify.code).toBe(0);
    expect(verify.out).toMatch(/^intact/);
    const today = new Date().toISOString().slice(0, 10);
    const report = covenant(["report", "--from", today, "--to", today, "--format", "json", "--state", state]);
    expect(report.code).toBe(0);
    expect(JSON.parse(report.out)).toMatchObject({ integrity: { verdict: "intact" } });
    // no key reaches any output
    const keys = [oldKey, newKey, readFileSync(join(state, "host.key"), "utf8").trim()];
    for (const out of [one, two, history, verify, report]) for (const k of keys) expect(out.out + out.err).not.toContain(k);
    expect(covenant(["key", "rotate", "--host", "--signing", "--state", state]).code).toBe(2);
  });

  it("rotate --host keeps a nodiff file's baseline approved before it: the next run finds it kept, and a change after it drift", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-key-nodiff-"));
    made.push(dir);
    mkdirSync(join(dir, "policy"));
    writeFileSync(join(dir, "pin.conf"), "pin=4711\n", { mode: 0o600 });
    writeFileSync(join(dir, "policy", "p.promise"), `control "ITGC-AC-09" {\n  title = "PIN"\n  file "${dir}/pin.conf" { integrity = sha256 nodiff = true }\n}\n`);
    const state = join(dir, "state");
    const run = () => covenant(["run", "--state", state, "--json", join(dir, "policy")]);
    expect(run().code).toBe(0);
    expect(covenant(["key", "rotate", "--host", "--state", state]).code).toBe(0);
    const outcomes = (r: { out: string }) => (JSON.parse(r.out) as { summary: { outcomes: Record<string, number> } }).summary.outcomes;
    const after = run();
    expect(after.code).toBe(0);
    expect(outcomes(after)).toMatchObject({ kept: 1, drift: 0, error: 0 });
    writeFileSync(join(dir, "pin.conf"), "pin=0815\n", { mode: 0o600 });
    const changed = run();
    expect(outcomes(changed)).toMatchObject({ kept: 0, drift: 1 });
    expect(changed.out + changed.err).not.toContain("4711");
    expect(covenant(["verify", "--state", state]).code).toBe(0);
  });

  it("rotate --host keeps an approved copy's masked secret lines comparable: a diff after it shows only the line that changed", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-key-copy-"));
    made.push(dir);
    mkdirSync(join(dir, "policy"));
    const conf = join(dir, "app.conf");
    writeFileSync(conf, "port = 5432\npassword = hunter2\nmax = 10\n", { mode: 0o600 });
    writeFileSync(join(dir, "policy", "p.promise"), `control "ITGC-CM-05" {\n  title = "App config"\n  file "${conf}" { integrity = sha256 }\n}\n`);
    const state = join(dir, "state");
    expect(covenant(["run", "--state", state, join(dir, "policy")]).code).toBe(0);
    expect(covenant(["key", "rotate", "--host", "--state", state]).code).toBe(0);
    writeFileSync(conf, "port = 5432\npassword = hunter2\nmax = 20\n", { mode: 0o600 });
    const r = covenant(["run", "--state", state, join(dir, "policy")]);
    expect(r.out).toContain("diff (+1 -1, 1 masked)");
    expect(r.out).toMatch(/\n\s+ password = \*\*\*\*\n\s+-max = 10\n\s+\+max = 20\n/);
    expect(r.out).not.toContain("hunter2");
    expect(covenant(["verify", "--state", state]).code).toBe(0);
  });

  it("rotate refuses a state directory that does not exist (exit 2), saying so, for either key", () => {
    for (const extra of [[], ["--host"]]) {
      const missing = join(mkdtempSync(join(tmpdir(), "covenant-key-missing-")), "never-made");
      const r = covenant(["key", "rotate", ...extra, "--state", missing]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^covenant key rotate: no store in .*never-made \(the directory does not exist/);
      expect(r.err).not.toMatch(/internal error/);
    }
  });

  it("rotate --host refuses a store that does not verify (exit 2) and a key kept elsewhere, saying how", () => {
    const { state } = store();
    const secrets = mkdtempSync(join(process.getuid?.() === 0 ? "/run" : tmpdir(), "covenant-secrets-"));
    made.push(secrets);
    copyFileSync(join(state, "host.key"), join(secrets, "host.key"));
    chmodSync(join(secrets, "host.key"), 0o600);
    rmSync(join(state, "host.key"));
    const elsewhere = covenant(["key", "rotate", "--host", "--state", state], { env: { COVENANT_HOST_KEY_FILE: join(secrets, "host.key") } });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.err).toMatch(/kept elsewhere \(COVENANT_HOST_KEY_FILE=.*\): Covenant does not replace a key it does not keep. To rotate it, copy it to/);
    copyFileSync(join(secrets, "host.key"), join(state, "host.key"));
    chmodSync(join(state, "host.key"), 0o600);
    const db = new Database(join(state, "state.db"));
    db.prepare("UPDATE ledger SET body = body || ' ' WHERE seq = 1").run();
    db.close();
    const tampered = covenant(["key", "rotate", "--host", "--state", state]);
    expect(tampered.code).toBe(2);
    expect(tampered.err).toMatch(/does not verify .*the host key is not rotated/);
  });
});
