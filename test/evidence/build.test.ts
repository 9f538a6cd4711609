// The pack's API as the report command will use it: files added under reports/ are listed in the
// manifest and checked like any other; a report's name that climbs out is refused. A real store
// through the StateStore API, a real key, and the verifier given only the public key.
import { afterAll, describe, expect, it } from "vitest";
import { buildPack } from "../../src/evidence/build.ts";
import { verifyPack } from "../../src/evidence/verify.ts";
import { periodOf } from "../../src/facts/period.ts";
import { generateSigningKey } from "../../src/store/signing-key.ts";
import { populated, removeTempDirs } from "../store/helpers.ts";

afterAll(() => removeTempDirs());

describe("buildPack", () => {
  const { store } = populated(3);
  const key = generateSigningKey();
  const input = { store, period: periodOf("2026-11-23", "2026-11-23", "UTC"), timeZone: "UTC", zoneFrom: "--tz" as const, host: "ledger01", createdAt: new Date("2026-11-24T00:00:00Z"), key };
  afterAll(() => store.close());

  it("lists the reports given under reports/, and the pack verifies with the public key alone", () => {
    const built = buildPack({ ...input, reports: [{ name: "report.html", bytes: Buffer.from("<h1>Q4</h1>\n") }, { name: "csv/controls.csv", bytes: Buffer.from("id\nX\n") }] });
    expect(built.manifest.files.map((f) => f.path)).toEqual(expect.arrayContaining(["reports/report.html", "reports/csv/controls.csv"]));
    expect(built.manifest.extract.count).toBeGreaterThan(0);
    const verdict = verifyPack(built.files, key.publicKey);
    expect(verdict).toMatchObject({ intact: true, problems: [] });
    const changed = built.files.map((f) => (f.name === "reports/report.html" ? { ...f, bytes: Buffer.from("<h1>Q4: all fine</h1>\n") } : f));
    expect(verifyPack(changed, key.publicKey).problems).toEqual([expect.objectContaining({ file: "reports/report.html", message: expect.stringMatching(/^it was changed/) as unknown })]);
  });

  it("signs the same manifest for the same store, period and time: a pack can be made again and compared", () => {
    const a = buildPack(input);
    const b = buildPack(input);
    expect(a.files.find((f) => f.name === "manifest.json")!.bytes.equals(b.files.find((f) => f.name === "manifest.json")!.bytes)).toBe(true);
  });

  it("refuses a report's name that climbs out, is absolute, or hides", () => {
    for (const name of ["../x", "/etc/x", "a/../../x", ".hidden", "a//b"]) expect(() => buildPack({ ...input, reports: [{ name, bytes: Buffer.alloc(1) }] }), name).toThrow(/plain relative path/);
  });
});
