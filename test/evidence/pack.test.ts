// The signed evidence pack, end to end through the built CLI on a real store: written as a
// directory and a .tar.gz, verified with the public key `covenant key export` printed, and every
// change to it found and named: a byte flipped in each file, a line deleted, two lines swapped, a
// file added, another key; archives with `../` names or links refused.
import Database from "better-sqlite3";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { GENESIS, macOf, type LedgerRow } from "../../src/store/ledger.ts";

beforeAll(() => ensureBuilt());
const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

interface Scene {
  dir: string;
  state: string;
  policyDir: string;
  pub: string;
}

/** Two runs of a one-promise policy, a rotation between them, and the public key exported. */
function scene(): Scene {
  const dir = mkdtempSync(join(tmpdir(), "covenant-evidence-"));
  made.push(dir);
  mkdirSync(join(dir, "ledger"));
  writeFileSync(join(dir, "ledger", "gl.dat"), "entry\n", { mode: 0o640 });
  const policyDir = join(dir, "policy");
  mkdirSync(policyDir);
  writeFileSync(join(policyDir, "ledger.promise"), `control "ITGC-CM-02" {\n  title = "Ledger files"\n  file "${dir}/ledger/gl.dat" { mode = 0640 }\n}\n`);
  const state = join(dir, "state");
  expect(covenant(["run", "--state", state, policyDir]).code).toBe(0);
  expect(covenant(["key", "export", "--state", state, "--out", join(dir, "first.pem")]).code).toBe(0);
  expect(covenant(["key", "rotate", "--state", state, "--reason", "yearly", "--by", "Alice"]).code).toBe(0);
  writeFileSync(join(dir, "ledger", "gl.dat"), "entry\nentry 2\n");
  expect(covenant(["run", "--state", state, policyDir]).code).toBe(0);
  const pub = join(dir, "host.pem");
  const exported = covenant(["key", "export", "--state", state]);
  expect(exported.code).toBe(0);
  writeFileSync(pub, exported.out);
  return { dir, state, policyDir, pub };
}

function pack(s: Scene, name = "pack"): string {
  const out = join(s.dir, name);
  const r = covenant(["evidence", "--state", s.state, "--from", day(-1), "--to", day(1), "--tz", "UTC", "--out", out]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return out;
}

const verify = (target: string, key: string, json = false) => covenant(["evidence", "verify", target, "--public-key", key, ...(json ? ["--json"] : [])]);

function files(dir: string, rel = ""): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(dir, rel ? `${rel}/${e.name}` : e.name) : [rel ? `${rel}/${e.name}` : e.name]));
}

/** A copy of the pack directory to spoil. */
function copyOf(packDir: string, s: Scene, name: string): string {
  const to = join(s.dir, name);
  spawnSync("cp", ["-a", packDir, to]);
  return to;
}

function flipByte(path: string, at?: number): void {
  const b = readFileSync(path);
  const i = at ?? Math.floor(b.length / 2);
  b[i] = b[i]! ^ 0x01;
  writeFileSync(path, b);
}

describe("the pack's reports", () => {
  it("holds the period's report in every format, listed in the manifest and verified with the rest", () => {
    const s = scene();
    const out = pack(s, "with-reports");
    const names = files(out).filter((f) => f.startsWith("reports/")).sort();
    expect(names).toEqual(expect.arrayContaining(["reports/controls.csv", "reports/episodes.csv", "reports/gaps.csv", "reports/report.html", "reports/report.json", "reports/report.md"]));
    const report = JSON.parse(readFileSync(join(out, "reports", "report.json"), "utf8")) as { format: string; controls: { id: string }[]; integrity: { verdict: string } };
    expect(report).toMatchObject({ format: "covenant-report/1", controls: [{ id: "ITGC-CM-02" }], integrity: { verdict: "intact" } });
    expect(readFileSync(join(out, "reports", "report.html"), "utf8")).toMatch(/^<!doctype html>/i);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { files: { path: string }[] };
    for (const n of names) expect(manifest.files.map((f) => f.path)).toContain(n);
    expect(verify(`${out}.tar.gz`, s.pub).code).toBe(0);
    // --max-unpacked: a budget the pack is over refuses it (exit 2, said); one that is not a size is named
    const small = covenant(["evidence", "verify", `${out}.tar.gz`, "--public-key", s.pub, "--max-unpacked", "1KiB"]);
    expect(small.code).toBe(2);
    expect(small.err).toMatch(/unpacks to more than 1024 bytes \(1024 bytes\), the most read \(`covenant evidence verify --max-unpacked` allows more\)/);
    const typo = covenant(["evidence", "verify", `${out}.tar.gz`, "--public-key", s.pub, "--max-unpacked", "lots"]);
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/--max-unpacked wants a size such as 256GiB, 1TiB or 500000000, got `lots`/);
    expect(covenant(["evidence", "verify", `${out}.tar.gz`, "--public-key", s.pub, "--max-unpacked", "1TiB"]).code).toBe(0);
    // a report changed after the pack was signed is found and named
    flipByte(join(out, "reports", "report.html"));
    const v = verify(out, s.pub);
    expect(v.code).toBe(1);
    expect(v.out).toContain("reports/report.html");
  });
});

describe("covenant evidence", () => {
  const s = scene();
  const packDir = pack(s);

  it("writes the directory and the archive: history extract with run-0 records, its chain, the policy version, manifest, signature, public key", () => {
    const names = files(packDir).sort();
    expect(names.filter((n) => !n.startsWith("policies/") && !n.startsWith("reports/"))).toEqual(["history.chain", "history.jsonl", "manifest.json", "manifest.sig", "public-key.pem"]);
    expect(readdirSync(join(packDir, "reports")).sort()).toEqual(["controls.csv", "episodes.csv", "gaps.csv", "report.html", "report.json", "report.md"]);
    const policy = names.filter((n) => n.startsWith("policies/"));
    expect(policy.some((n) => n.endsWith("/policy.json"))).toBe(true);
    expect(policy.some((n) => n.endsWith(`${s.policyDir.slice(1)}/ledger.promise`))).toBe(true);
    const lines = readFileSync(join(packDir, "history.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { seq: number; kind: string; run: number; mac: string });
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    expect(lines.map((l) => l.kind)).toContain("rotation");
    expect(lines.find((l) => l.kind === "rotation")!.run).toBe(0);
    const manifest = JSON.parse(readFileSync(join(packDir, "manifest.json"), "utf8")) as { extract: { first: number; last: number; count: number; head: { seq: number; mac: string } }; store: { verify: { intact: boolean } }; period: { timeZone: string; zoneFrom: string } };
    expect(manifest.extract).toMatchObject({ first: 1, last: lines.length, count: lines.length, head: { seq: lines.length, mac: lines.at(-1)!.mac } });
    expect(manifest.store.verify.intact).toBe(true);
    expect(manifest.period).toMatchObject({ timeZone: "UTC", zoneFrom: "--tz" });
    const listed = spawnSync("tar", ["tzf", `${packDir}.tar.gz`], { encoding: "utf8" }).stdout.trim().split("\n");
    expect(listed).toContain("pack/reports/");
    expect(listed).toContain("pack/manifest.sig");
  });

  it("holds each record's body so that, with the host key, every MAC in the extract can be recomputed", () => {
    const key = Buffer.from(readFileSync(join(s.state, "host.key"), "utf8").trim(), "hex");
    let prev = GENESIS;
    const lines = readFileSync(join(packDir, "history.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { kind: LedgerRow["kind"]; run: number; time: string; body: unknown; bodyText?: string; mac: string });
    for (const l of lines) {
      expect(l.bodyText).toBeUndefined();
      const mac = macOf(key, prev, { kind: l.kind, run: l.run, time: l.time, body: JSON.stringify(l.body) });
      expect(mac.toString("hex")).toBe(l.mac);
      prev = mac;
    }
  });

  it("holds no secret: not the host key, not the private signing key", () => {
    const host = readFileSync(join(s.state, "host.key"), "utf8").trim();
    const priv = readFileSync(join(s.state, "signing.key"), "utf8");
    const all = Buffer.concat([...files(packDir).map((n) => readFileSync(join(packDir, n))), gunzipSync(readFileSync(`${packDir}.tar.gz`))]).toString("latin1");
    expect(all).not.toContain(host);
    expect(all).not.toContain("PRIVATE KEY");
    expect(all).not.toContain(priv.split("\n")[1]!);
  });

  it("verifies intact, the directory and the archive, with the exported key; JSON too", () => {
    for (const target of [packDir, `${packDir}.tar.gz`]) {
      const r = verify(target, s.pub);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^intact: the pack of .* signed by ed25519:[0-9a-f]{32}: every file as signed; records 1 to \d+/);
      expect(r.out).toContain("a host whose root was compromised could sign a lie");
    }
    const j = JSON.parse(verify(packDir, s.pub, true).out) as { intact: boolean; problems: unknown[] };
    expect(j).toMatchObject({ intact: true, problems: [] });
  });

  it("fails with another key, and with the key the rotation retired", () => {
    const other = join(s.dir, "other.pem");
    writeFileSync(other, generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }));
    for (const key of [other, join(s.dir, "first.pem")]) {
      const r = verify(packDir, key);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/manifest\.sig: the signature over manifest\.json does not verify with the given key/);
      expect(r.out).toMatch(/manifest\.json: it names the signing key ed25519:\w+, not the key given/);
    }
  });

  const flips: [string, RegExp][] = [
    ["manifest.json", /manifest\.sig: the signature over manifest\.json does not verify/],
    ["manifest.sig", /manifest\.sig: the signature over manifest\.json does not verify/],
    ["history.jsonl", /history\.jsonl: it was changed[\s\S]*history\.jsonl \(record \d+\): record \d+ \(line \d+\) is not the one that was signed/],
    ["history.chain", /history\.chain: it was changed/],
    ["public-key.pem", /public-key\.pem: it was changed/],
  ];
  for (const [file, named] of flips) {
    it(`finds a byte flipped in ${file} and names it`, () => {
      const spoilt = copyOf(packDir, s, `flip-${file}`);
      flipByte(join(spoilt, file), file === "history.jsonl" ? readFileSync(join(spoilt, file), "utf8").indexOf('"time"') + 12 : undefined);
      const r = verify(spoilt, s.pub);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/^FAILED: \d+ problems? found/);
      expect(r.out).toMatch(named);
    });
  }

  it("finds a byte flipped in a policy file and names the file and its record", () => {
    const spoilt = copyOf(packDir, s, "flip-policy");
    const file = files(spoilt).find((n) => n.endsWith("ledger.promise"))!;
    flipByte(join(spoilt, file), 3);
    const r = verify(spoilt, s.pub);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${file}: it was changed`);
    expect(r.out).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(record \\d+\\): the policy file .*ledger\\.promise is not the text stored in record \\d+`));
  });

  it("finds a line deleted and two lines swapped, naming the record", () => {
    const lines = readFileSync(join(packDir, "history.jsonl"), "utf8").trimEnd().split("\n");
    const deleted = copyOf(packDir, s, "deleted-line");
    writeFileSync(join(deleted, "history.jsonl"), [...lines.slice(0, 1), ...lines.slice(2)].map((l) => `${l}\n`).join(""));
    let r = verify(deleted, s.pub);
    expect(r.code).toBe(1);
    expect(r.out).toContain("history.jsonl (record 3): record 3 (line 2) is not the one that was signed");
    expect(r.out).toContain("record 3 (line 2) follows record 1: record numbers must be consecutive (expected 2)");
    const swapped = copyOf(packDir, s, "swapped-lines");
    writeFileSync(join(swapped, "history.jsonl"), [lines[1], lines[0], ...lines.slice(2)].map((l) => `${l}\n`).join(""));
    r = verify(swapped, s.pub);
    expect(r.code).toBe(1);
    expect(r.out).toContain("history.jsonl (record 2): record 2 (line 1) is not the one that was signed");
  });

  it("a manifest or policy listing made by hand, malformed, is a failure named, never a crash", () => {
    const forged = copyOf(packDir, s, "forged-manifest");
    writeFileSync(join(forged, "manifest.json"), JSON.stringify({ format: "covenant-evidence-pack", files: "all", extract: null }));
    let r = verify(forged, s.pub);
    expect(r.code).toBe(1);
    expect(r.out).toContain("manifest.json: manifest.json does not hold the fields a covenant-evidence-pack manifest holds");
    const listing = copyOf(packDir, s, "forged-listing");
    const file = files(listing).find((n) => n.endsWith("policy.json"))!;
    writeFileSync(join(listing, file), "null");
    r = verify(listing, s.pub);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${file}: it was changed`);
    expect(r.out).toMatch(/policy\.json \(record \d+\): it is not a policy version's listing/);
  });

  it("names a file added to the pack, and one missing", () => {
    const added = copyOf(packDir, s, "added-file");
    writeFileSync(join(added, "reports", "extra.html"), "<p>all fine</p>\n");
    let r = verify(added, s.pub);
    expect(r.code).toBe(1);
    expect(r.out).toContain("reports/extra.html: it is not listed in the manifest: it was added to the pack");
    const missing = copyOf(packDir, s, "missing-file");
    rmSync(join(missing, "history.chain"));
    r = verify(missing, s.pub);
    expect(r.code).toBe(1);
    expect(r.out).toContain("history.chain: it is listed in the manifest but missing from the pack");
  });

  it("finds a byte changed inside the archive (re-compressed) and names the file", () => {
    const tar = gunzipSync(readFileSync(`${packDir}.tar.gz`));
    const at = tar.indexOf('"kind"');
    tar[at + 3] = tar[at + 3]! ^ 0x01;
    const spoilt = join(s.dir, "spoilt.tar.gz");
    writeFileSync(spoilt, gzipSync(tar));
    const r = verify(spoilt, s.pub);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/history\.jsonl: it was changed/);
  });

  it("refuses an archive with a name that climbs out, or a link (exit 2), and a corrupt one", () => {
    const evil = (name: string, type: string, link = "") => {
      const h = Buffer.alloc(512);
      h.write(name, 0);
      h.write("0000600\0", 100);
      h.write("0000000\0", 108);
      h.write("0000000\0", 116);
      h.write("00000000005\0", 124);
      h.write("00000000000\0", 136);
      h.fill(" ", 148, 156);
      h.write(type, 156);
      h.write(link, 157);
      h.write("ustar\0" + "00", 257);
      let sum = 0;
      for (const b of h) sum += b;
      h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
      const body = Buffer.alloc(512);
      body.write("hello");
      return gzipSync(Buffer.concat([h, type === "0" ? body : Buffer.alloc(0), Buffer.alloc(1024)]));
    };
    const cases: [string, Buffer, RegExp][] = [
      ["climb.tar.gz", evil("pack/../../etc/x", "0"), /climbs out of the pack/],
      ["absolute.tar.gz", evil("/etc/x", "0"), /is not a plain relative name/],
      ["symlink.tar.gz", evil("pack/history.jsonl", "2", "/etc/shadow"), /is a symbolic link: a pack holds only files and directories, refused/],
      ["hardlink.tar.gz", evil("pack/history.jsonl", "1", "/etc/shadow"), /is a hard link/],
      ["corrupt.tar.gz", Buffer.from("not gzip at all"), /is not a gzip file/],
    ];
    for (const [name, bytes, why] of cases) {
      const path = join(s.dir, name);
      writeFileSync(path, bytes);
      const r = verify(path, s.pub);
      expect(r.code, name).toBe(2);
      expect(r.err, name).toMatch(why);
    }
  });

  it("refuses a link inside a pack directory (exit 2)", () => {
    const linked = copyOf(packDir, s, "linked");
    rmSync(join(linked, "history.chain"));
    spawnSync("ln", ["-s", "/etc/hostname", join(linked, "history.chain")]);
    const r = verify(linked, s.pub);
    expect(r.code).toBe(2);
    expect(r.err).toContain("history.chain in the pack is a symbolic link");
  });

  it("says usage errors with exit 2: no key, a private key, an existing non-empty --out, bad dates, no store", () => {
    let r = covenant(["evidence", "verify", packDir]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--public-key FILE is required");
    const priv = join(s.dir, "priv.pem");
    writeFileSync(priv, readFileSync(join(s.state, "signing.key")));
    r = verify(packDir, priv);
    expect(r.code).toBe(2);
    expect(r.err).toContain("holds a private key");
    expect(r.err + r.out).not.toContain("BEGIN");
    r = covenant(["evidence", "--state", s.state, "--from", day(-1), "--to", day(1), "--out", packDir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/exists: choose another --out/);
    const busy = join(s.dir, "busy");
    mkdirSync(busy);
    appendFileSync(join(busy, "x"), "x");
    r = covenant(["evidence", "--state", s.state, "--from", day(-1), "--to", day(1), "--out", busy]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("exists and is not empty");
    r = covenant(["evidence", "--state", s.state, "--from", "2026-02-30", "--to", day(1), "--out", join(s.dir, "bad")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("is not a date on the calendar");
    r = covenant(["evidence", "--state", s.state, "--from", day(-1), "--to", day(1), "--tz", "Mars/Olympus", "--out", join(s.dir, "bad")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("is not a time zone");
    r = covenant(["evidence", "--state", join(s.dir, "nothing"), "--from", day(-1), "--to", day(1), "--out", join(s.dir, "bad")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("no store in");
    r = covenant(["evidence", "--state", s.state, "--out", join(s.dir, "bad")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--from, --to are required");
  });

  it("a pack extracted by system tar verifies as the archive does", () => {
    const out = join(s.dir, "extracted");
    mkdirSync(out);
    expect(spawnSync("tar", ["xzf", `${packDir}.tar.gz`, "-C", out]).status).toBe(0);
    expect(verify(join(out, "pack"), s.pub).code).toBe(0);
  });

  it("a pack of a store that fails its own verification is written, says so, and exits 1", () => {
    const t = scene();
    const db = new Database(join(t.state, "state.db"));
    // a space no JSON.stringify writes: the body no longer serializes back to its text
    db.prepare(`UPDATE ledger SET body = replace(body, '"as promised"', ' "as PROMISED"') WHERE seq = 1`).run();
    db.close();
    const out = join(t.dir, "tampered-pack");
    const r = covenant(["evidence", "--state", t.state, "--from", day(-1), "--to", day(1), "--tz", "UTC", "--out", out]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/the store failed its verification when the pack was made, and the pack says so: record 1 was altered/);
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { store: { verify: { intact: boolean; tampering: { seq: number } } } };
    expect(m.store.verify).toMatchObject({ intact: false, tampering: { seq: 1 } });
    const edited = readFileSync(join(out, "history.jsonl"), "utf8").split("\n")[0]!;
    expect(JSON.parse(edited)).toMatchObject({ seq: 1, bodyText: expect.stringContaining("as PROMISED") as unknown });
    // intact as signed, but of a store the host found tampered: exit 1, so that no script accepts it
    const v = verify(out, t.pub);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/but the host's own verification found its store tampered when the pack was made: record 1 was altered/);
    expect(JSON.parse(verify(out, t.pub, true).out)).toMatchObject({ intact: true, storeIntact: false });
  });

  it("a period after the last record holds no records but the policy version still in force; one before the first holds neither", () => {
    const later = join(s.dir, "later");
    let r = covenant(["evidence", "--state", s.state, "--from", day(30), "--to", day(31), "--tz", "UTC", "--out", later]);
    expect(r.code).toBe(0);
    let m = JSON.parse(readFileSync(join(later, "manifest.json"), "utf8")) as { extract: { count: number; first: unknown }; policies: unknown[] };
    expect(m.extract).toMatchObject({ count: 0, first: null });
    expect(m.policies).toHaveLength(1);
    expect(verify(later, s.pub).code).toBe(0);
    const earlier = join(s.dir, "earlier");
    r = covenant(["evidence", "--state", s.state, "--from", "2020-01-01", "--to", "2020-01-31", "--out", earlier]);
    expect(r.code).toBe(0);
    m = JSON.parse(readFileSync(join(earlier, "manifest.json"), "utf8")) as typeof m;
    expect(m.extract.count).toBe(0);
    expect(m.policies).toHaveLength(0);
  });
});
