// A fleet pack whose archive gives a host's records before the chain that vouches for them (a
// crafted pack: Covenant writes the chain first). The verifier must reach the same verdict in any
// order, without holding the records in memory: checked in process both ways, and by
// `covenant evidence verify` as a process whose heap is smaller than the records it checks.
import { createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FLEET_PACK_FORMAT, FLEET_PACK_VERSION } from "../../src/evidence/fleet-manifest.ts";
import { FleetPackChecker } from "../../src/evidence/fleet-verify.ts";
import type { PackFile } from "../../src/evidence/tar.ts";
import { fingerprintOf } from "../../src/store/signing-key.ts";
import { hubChainNext, hubChainStart } from "../../src/store/hub-chain.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { removeTempDirs, tempDir } from "../store/helpers.ts";

const HOST = "3f1c2a4e-0000-4000-8000-00000000beef";
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

afterAll(() => removeTempDirs());

/** A signed fleet pack of one host with `records` records (each about `pad` bytes), its files in the order `order` gives them. */
function craftedPack(key: { publicKey: KeyObject; privateKey: KeyObject }, records: number, pad: number, order: "history-first" | "chain-first", change?: number): PackFile[] {
  const before = hubChainStart(HOST);
  let chain = before;
  const lines: string[] = [];
  const entries = [JSON.stringify({ before: before.toString("hex"), epoch: 0 })];
  for (let seq = 1; seq <= records; seq++) {
    const line = JSON.stringify({ seq, kind: "result", run: seq, time: "2026-11-01T00:00:00.000Z", body: { pad: "x".repeat(pad) }, mac: "0".repeat(64) });
    chain = hubChainNext(chain, line);
    lines.push(seq === change ? line.replace('"run"', '"ran"') : line);
    entries.push(JSON.stringify({ seq, receivedAt: "2026-11-01T00:00:02.000Z", chain: chain.toString("hex") }));
  }
  const history = Buffer.from(lines.map((l) => `${l}\n`).join(""));
  const chainFile = Buffer.from(entries.map((l) => `${l}\n`).join(""));
  const manifest = {
    format: FLEET_PACK_FORMAT,
    version: FLEET_PACK_VERSION,
    createdAt: "2026-12-01T00:00:00.000Z",
    period: { from: "2026-11-01", to: "2026-11-30", timeZone: "UTC", start: "2026-11-01T00:00:00.000Z", end: "2026-12-01T00:00:00.000Z" },
    scope: { group: null },
    signingKey: { algorithm: "ed25519", fingerprint: fingerprintOf(key.publicKey) },
    hosts: [{ id: HOST, name: "crafted", group: null, epoch: 0, chainStatus: "ok", incidents: [], extract: { first: 1, last: records, count: records, before: before.toString("hex"), final: chain.toString("hex"), prunedTo: null } }],
    policies: [],
    policiesNotIncluded: [],
    files: [
      { path: `hosts/${HOST}/chain.jsonl`, sha256: sha(chainFile), bytes: chainFile.length },
      { path: `hosts/${HOST}/history.jsonl`, sha256: sha(history), bytes: history.length },
    ],
    says: "crafted",
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + "\n");
  const signed = [
    { name: "manifest.json", bytes: manifestBytes },
    { name: "manifest.sig", bytes: Buffer.from(`${sign(null, manifestBytes, key.privateKey).toString("base64")}\n`) },
  ];
  const h = { name: `hosts/${HOST}/history.jsonl`, bytes: history };
  const c = { name: `hosts/${HOST}/chain.jsonl`, bytes: chainFile };
  return [...signed, ...(order === "history-first" ? [h, c] : [c, h])];
}

function verdictOf(files: readonly PackFile[], publicKey: KeyObject) {
  const checker = new FleetPackChecker(publicKey);
  for (const f of files) {
    const sink = checker.file(f.name);
    // in pieces that cut lines, as an archive's reader gives them
    for (let at = 0; at < f.bytes.length; at += 1000) sink.write(f.bytes.subarray(at, at + 1000));
    sink.end();
  }
  return checker.verdict();
}

describe("a fleet pack whose archive gives a host's records before their chain", () => {
  const key = generateKeyPairSync("ed25519");

  it("verifies as intact in either order, and names the changed record in either order", () => {
    for (const order of ["history-first", "chain-first"] as const) {
      expect(verdictOf(craftedPack(key, 500, 100, order), key.publicKey).problems, order).toEqual([]);
      const changed = verdictOf(craftedPack(key, 500, 100, order, 321), key.publicKey);
      expect(changed.intact, order).toBe(false);
      expect(changed.problems, order).toContainEqual(expect.objectContaining({ file: `hosts/${HOST}/history.jsonl`, record: 321, message: expect.stringMatching(/^line 321 \(record 321\) is not the record the hub chained there/) }));
    }
  });

  it("says a chain shorter than the records, and records missing at the end, whichever came first", () => {
    for (const order of ["history-first", "chain-first"] as const) {
      const files = craftedPack(key, 50, 10, order);
      const chain = files.find((f) => f.name.endsWith("chain.jsonl"))!;
      const cut = chain.bytes.subarray(0, chain.bytes.lastIndexOf(0x0a, chain.bytes.length - 2) + 1);
      const v = verdictOf(files.map((f) => (f === chain ? { name: f.name, bytes: cut } : f)), key.publicKey);
      expect(v.problems.map((p) => p.message), order).toContainEqual(expect.stringMatching(/changed|records where the hub's chain beside it holds 49|not the record/));
      expect(v.intact).toBe(false);
    }
  });

  it("is verified by `covenant evidence verify` with a heap smaller than the records it holds", () => {
    ensureBuilt();
    const dir = tempDir("crafted-fleet");
    // ~120 MB of records before their chain, checked by a process whose heap is 64 MB: held in memory they could not fit
    const files = craftedPack(key, 200_000, 500, "history-first");
    // Covenant's own archives list entries by name (chain.jsonl first): GNU tar keeps the order it is given
    const top = join(dir, "crafted");
    for (const f of files) {
      mkdirSync(dirname(join(top, f.name)), { recursive: true });
      writeFileSync(join(top, f.name), f.bytes);
    }
    const archive = join(dir, "crafted.tar.gz");
    const dirs = ["crafted/", "crafted/hosts/", `crafted/hosts/${HOST}/`];
    execFileSync("tar", ["--format=ustar", "--no-recursion", "-czf", archive, "-C", dir, ...dirs, ...files.map((f) => `crafted/${f.name}`)]);
    const listed = execFileSync("tar", ["-tzf", archive], { encoding: "utf8" }).trim().split("\n");
    expect(listed.indexOf(`crafted/hosts/${HOST}/history.jsonl`)).toBeLessThan(listed.indexOf(`crafted/hosts/${HOST}/chain.jsonl`));
    const pub = join(dir, "hub.pub.pem");
    writeFileSync(pub, key.publicKey.export({ type: "spki", format: "pem" }));
    const r = covenant(["evidence", "verify", archive, "--public-key", pub], { env: { NODE_OPTIONS: "--max-old-space-size=64" } });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/intact/i);
  }, 120_000);
});
