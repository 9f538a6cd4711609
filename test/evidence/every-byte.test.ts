// Any byte of a pack changed is found and named: every byte of every file of a small pack, one at
// a time, checked in process with the public key alone.
import { afterAll, describe, expect, it } from "vitest";
import { buildPack } from "../../src/evidence/build.ts";
import { verifyPack } from "../../src/evidence/verify.ts";
import { periodOf } from "../../src/facts/period.ts";
import { generateSigningKey } from "../../src/store/signing-key.ts";
import { populated, removeTempDirs } from "../store/helpers.ts";

afterAll(() => removeTempDirs());

describe("every byte of a pack", () => {
  it("changed, one at a time, fails the verdict and names the file it is in", () => {
    const { store } = populated(2);
    const key = generateSigningKey();
    const built = buildPack({ store, period: periodOf("2026-11-23", "2026-11-23", "UTC"), timeZone: "UTC", zoneFrom: "--tz", host: "h", createdAt: new Date("2026-11-24T00:00:00Z"), key, reports: [{ name: "r.md", bytes: Buffer.from("# Q4\n") }] });
    store.close();
    expect(verifyPack(built.files, key.publicKey).intact).toBe(true);
    let checked = 0;
    for (const [i, f] of built.files.entries()) {
      for (let at = 0; at < f.bytes.length; at++) {
        const bytes = Buffer.from(f.bytes);
        bytes[at] = bytes[at]! ^ 0x20;
        const spoilt = built.files.map((g, j) => (j === i ? { name: g.name, bytes } : g));
        const verdict = verifyPack(spoilt, key.publicKey);
        const named = f.name === "manifest.json" ? "manifest.sig" : f.name;
        if (verdict.intact || !verdict.problems.some((p) => p.file === named)) throw new Error(`byte ${at} of ${f.name} changed: ${JSON.stringify(verdict.problems)}`);
        checked++;
      }
    }
    expect(checked).toBe(built.files.reduce((n, f) => n + f.bytes.length, 0));
  });
});
