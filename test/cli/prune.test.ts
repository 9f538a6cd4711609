// `covenant prune`: a real store, a pack signed with a real Ed25519 key, the built CLI. The pack
// must verify with the public key given and hold every record removed; afterwards `verify` and
// `history` say where the history now starts and where what went can be checked.
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { raw, removeTempDirs, tempDir } from "../store/helpers.ts";
import { dailyStore } from "./prune-store.ts";

beforeAll(() => ensureBuilt());
afterAll(() => removeTempDirs());

/** One run a day, from 2026-11-20: B drifts on the 23rd and stays so. */
const store = () => dailyStore("prune-cli");

/** The store's own evidence pack for November (its signing key made first): the directory, its .tar.gz, and the public key's PEM file. */
function realPack(dir: string, from = "2026-11-01", to = "2026-11-30"): { pack: string; tgz: string; pub: string } {
  const out = tempDir("pack");
  const pub = join(out, "host.pub");
  const k = covenant(["key", "export", "--state", dir, "--out", pub]);
  expect(k.code, k.err).toBe(0);
  const e = covenant(["evidence", "--from", from, "--to", to, "--tz", "UTC", "--out", join(out, "pack"), "--state", dir]);
  expect(e.code, e.err).toBe(0);
  return { pack: join(out, "pack"), tgz: join(out, "pack.tar.gz"), pub };
}

describe("covenant prune", () => {
  it("--dry-run says what would go and changes nothing; then prunes, and verify and history say where the history starts", () => {
    const { dir, total } = store();
    const p = realPack(dir);
    // checked with the host's own signing key: no --public-key needed
    const args = ["prune", "--state", dir, "--before", "2026-11-23", "--tz", "UTC", "--pack", p.tgz];
    const dry = covenant([...args, "--dry-run"]);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toMatch(/^would remove \d+ records \(.*\) of 3 runs, records 1 to \d+, through run 3 \(finished 2026-11-22T10:00:01.000Z\), from before 2026-11-23/);
    expect(dry.out).toContain("nothing was changed (--dry-run)");
    expect(raw(dir).prepare("SELECT max(seq) FROM ledger").pluck().get()).toBe(total);

    const done = covenant(args);
    expect(done.code, done.err).toBe(0);
    expect(done.out).toMatch(/^removed \d+ records .* of 3 runs/);
    expect(done.out).toMatch(/prune record #\d+ says so/);
    expect(done.out).toMatch(/the store went from [\d.]+ MiB to [\d.]+ MiB/);

    const v = covenant(["verify", "--state", dir]);
    expect(v.code, v.out).toBe(0);
    expect(v.out).toMatch(/^intact: /);
    expect(v.out).toMatch(/checkpoint: records up to \d+ \(runs through 3\) were pruned on /);
    const json = JSON.parse(covenant(["verify", "--json", "--state", dir]).out) as { tampering?: unknown; runs: number[]; checkpoint: { run: number; seq: number; evidence: { firstRecord: number; lastRecord: number; fingerprint: string } } };
    expect(json.tampering).toBeUndefined();
    expect(json.runs).toEqual([4, 5, 6]);
    expect(json.checkpoint).toMatchObject({ run: 3, evidence: { firstRecord: 1, lastRecord: total, fingerprint: expect.stringMatching(/^ed25519:[0-9a-f]{32}$/) } });

    const h = covenant(["history", "--state", dir]);
    expect(h.code, h.out).toBe(0);
    const lines = h.out.split("\n");
    expect(lines[0]).toMatch(new RegExp(`^records before ${json.checkpoint.seq + 1} were pruned on .* \\(runs through 3, before 2026-11-23T00:00:00.000Z\\): they are in the evidence pack whose manifest's sha256 is [0-9a-f]{64}`));
    expect(h.out).toMatch(/#\d+ {2}pruned \d+ records of 3 runs before 2026-11-23T00:00:00.000Z \(through run 3, record \d+\); \d+ kept; evidence pack [0-9a-f]{12}… signed by ed25519:/);
    expect(h.out).not.toContain("UNVERIFIED");
    // --json keeps stdout JSON: the note goes to stderr
    const hj = covenant(["history", "--json", "--state", dir]);
    expect(() => JSON.parse(hj.out) as unknown).not.toThrow();
    expect(hj.err).toContain("were pruned on");

    // asked again for the same date: nothing left to prune
    const again = covenant(args);
    expect(again.code).toBe(2);
    expect(again.err).toContain("pruned already");
  });

  it("refuses a pack that does not verify whole, or that another key signed, and changes nothing", () => {
    const { dir, total } = store();
    const p = realPack(dir);
    // one byte of the history extract changed after the pack was signed
    const history = join(p.pack, "history.jsonl");
    const bytes = readFileSync(history);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 1;
    writeFileSync(history, bytes);
    const changed = covenant(["prune", "--state", dir, "--before", "2026-11-23", "--tz", "UTC", "--pack", p.pack]);
    expect(changed.code).toBe(2);
    expect(changed.err).toMatch(/does not verify with the key given \(\d+ problems?: history\.jsonl/);
    // signed by this host, checked with another key
    const other = tempDir("other-key");
    writeFileSync(join(other, "other.pub"), generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }));
    const wrongKey = covenant(["prune", "--state", dir, "--before", "2026-11-23", "--pack", p.tgz, "--public-key", join(other, "other.pub")]);
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.err).toContain("does not verify");
    // a private key is never taken for a public one
    writeFileSync(join(other, "private.pem"), generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }));
    const priv = covenant(["prune", "--state", dir, "--before", "2026-11-23", "--pack", p.tgz, "--public-key", join(other, "private.pem")]);
    expect(priv.code).toBe(2);
    expect(priv.err).toMatch(/private key|not a PEM public key/);
    // what comes from outside is shown escaped
    const escaped = covenant(["prune", "--state", dir, "--before", "2026-11-23", "--pack", join(other, "\x1b[2Jnope")]);
    expect(escaped.code).toBe(2);
    expect(escaped.err).not.toContain("\x1b[2J");
    expect(raw(dir).prepare("SELECT max(seq) FROM ledger").pluck().get()).toBe(total);
    expect(covenant(["verify", "--state", dir]).out).not.toContain("checkpoint");
  });

  it("refuses a pack that does not hold every record to remove, or is of another store", () => {
    const { dir, total } = store();
    // the 20th alone: records of run 1 only
    const short = realPack(dir, "2026-11-20", "2026-11-20");
    const r = covenant(["prune", "--state", dir, "--before", "2026-11-23", "--tz", "UTC", "--pack", short.pack]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/the evidence pack holds records 1 to \d+, but this prune removes records 1 to \d+/);
    // another store's pack, checked with that store's key: it verifies, but its records are not this history's
    const { dir: otherDir } = store();
    const foreign = realPack(otherDir);
    const o = covenant(["prune", "--state", dir, "--before", "2026-11-23", "--tz", "UTC", "--pack", foreign.pack, "--public-key", foreign.pub]);
    expect(o.code).toBe(2);
    expect(o.err).toMatch(/the pack was signed by ed25519:[0-9a-f]{32}, which is neither this host's signing key in force \(ed25519:[0-9a-f]{32}\) nor one its rotations name/);
    expect(raw(dir).prepare("SELECT max(seq) FROM ledger").pluck().get()).toBe(total);
    const ok = covenant(["prune", "--state", dir, "--before", "2026-11-23", "--tz", "UTC", "--pack", realPack(dir).pack, "--json"]);
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ dryRun: false, runs: 3, cut: { run: 3 } });
  });

  it("takes a pack signed by a key this host has since rotated away, given with --public-key", () => {
    const { dir } = store();
    const p = realPack(dir);
    expect(covenant(["key", "rotate", "--state", dir, "--reason", "yearly", "--by", "Alice"]).code).toBe(0);
    // the key in force no longer verifies the pack; the old one, named by the rotation, does
    const byNew = covenant(["prune", "--state", dir, "--before", "2026-11-23", "--tz", "UTC", "--pack", p.pack]);
    expect(byNew.code).toBe(2);
    expect(byNew.err).toContain("does not verify");
    const byOld = covenant(["prune", "--state", dir, "--before", "2026-11-23", "--tz", "UTC", "--pack", p.pack, "--public-key", p.pub, "--json"]);
    expect(byOld.code, byOld.err).toBe(0);
    expect(JSON.parse(byOld.out)).toMatchObject({ dryRun: false, runs: 3 });
    expect(covenant(["verify", "--state", dir]).code).toBe(0);
  });

  it("bad dates, zones and files are usage errors (exit 2), never a stack trace", () => {
    const { dir } = store();
    const p = realPack(dir);
    const base = ["prune", "--state", dir, "--pack", p.pack, "--public-key", p.pub];
    for (const [args, words] of [
      [["--before", "2026-02-30"], "not a date on the calendar"],
      [["--before", "yesterday"], "--before wants a date written YYYY-MM-DD"],
      [["--before", "2026-11-23", "--tz", "Mars/Olympus"], "is not a time zone"],
      [["--before", "2020-01-01", "--tz", "UTC"], "no run finished before"],
    ] as const) {
      const r = covenant([...base, ...args]);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toContain(words);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    const empty = tempDir("prune-empty");
    const none = covenant(["prune", "--state", join(empty, "state"), "--before", "2026-11-23", "--pack", p.pack, "--public-key", p.pub]);
    expect(none.code).toBe(2);
    expect(none.err).toContain("no store in");
    expect(existsSync(join(empty, "state"))).toBe(false);
    const noKey = covenant(["prune", "--state", dir, "--before", "2026-11-23", "--pack", p.pack, "--public-key", join(dir, "nope.pem")]);
    expect(noKey.code).toBe(2);
    expect(noKey.err).toContain("cannot be read");
    const notPem = covenant(["prune", "--state", dir, "--before", "2026-11-23", "--pack", p.pack, "--public-key", join(p.pack, "manifest.json")]);
    expect(notPem.code).toBe(2);
    expect(notPem.err).toContain("not a PEM public key");
  });

  it("a store made by real runs (integrity approvals, a policy version, rosters, an open and acknowledged deficiency) pruned to its end: what remains verifies, and the next run continues it", () => {
    const dir = tempDir("prune-real");
    const state = join(dir, "state");
    mkdirSync(state, { mode: 0o700 });
    const policy = join(dir, "p.promise");
    writeFileSync(join(dir, "gl.dat"), "balance = 1\n");
    writeFileSync(policy, `control "SOX-1" {\n  title = "ledger"\n  file "${dir}/gl.dat" { integrity = sha256 }\n}\n`, { mode: 0o600 });
    expect(covenant(["run", "--state", state, policy]).code).toBe(0);
    writeFileSync(join(dir, "gl.dat"), "balance = 2\n");
    expect(covenant(["run", "--state", state, policy]).code).toBe(1);
    const id = (JSON.parse(covenant(["deficiencies", "--json", "--state", state]).out) as { id: string }[])[0]!.id;
    expect(covenant(["ack", id, "--reason", "CHG-9: restored tonight", "--state", state]).code).toBe(0);
    expect(covenant(["run", "--state", state, policy]).code).toBe(1);
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const p = realPack(state, today, today);
    const done = covenant(["prune", "--state", state, "--before", tomorrow, "--tz", "UTC", "--pack", p.tgz]);
    expect(done.code, done.err).toBe(0);
    expect(done.out).toMatch(/of 3 runs, records 1 to \d+, through run 3/);
    // what the tables name is kept: the last baseline record, the approval, the change and ack records of the deficiency (no later summary names the policy or roster)
    const kinds = raw(state).prepare("SELECT kind FROM ledger WHERE kind != 'prune' ORDER BY seq").pluck().all() as string[];
    expect(new Set(kinds)).toEqual(new Set(["change", "baseline", "approval", "ack"]));
    const v = covenant(["verify", "--state", state]);
    expect(v.code, v.out).toBe(0);
    expect(covenant(["deficiencies", "--state", state]).out).toContain(id);
    // the next run continues: it writes its policy and roster again (those records were not named by any later summary), and all verifies
    writeFileSync(join(dir, "gl.dat"), "balance = 1\n");
    expect(covenant(["run", "--state", state, policy]).code).toBe(0);
    const after = covenant(["verify", "--json", "--state", state]);
    expect(after.code, after.out).toBe(0);
    expect(JSON.parse(after.out)).toMatchObject({ runs: [4], checkpoint: { run: 3 } });
    expect(JSON.parse(readFileSync(join(state, "ledger.head"), "utf8"))).toMatchObject({ run: 4 });
    const h = covenant(["history", "--state", state]);
    expect(h.code, h.out).toBe(0);
    expect(h.out).toContain(`acknowledged ${id}`);
  });
});
