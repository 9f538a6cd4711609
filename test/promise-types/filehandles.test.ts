import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hourOfWeek } from "../../src/evaluator/anomaly.ts";
import { behavioursFor } from "../../src/evaluator/behaviours.ts";
import { MemorySamples } from "../../src/store/memory.ts";
import { evaluateOne } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("filehandles", {
  valid: ["filehandles { max_used_pct = 80% }", "filehandles { max_used = 500000 anomaly = 2.5 sigma }"],
  invalid: [
    { promise: "filehandles { }", code: "E104", message: /promises nothing/ },
    { promise: "filehandles { anomaly = 0 sigma }", code: "E103", message: "`anomaly` must be more than 0 sigma" },
    { promise: 'filehandles "/proc" { max_used = 1 }', code: "E117" },
    { promise: "filehandles { max_used_pct = 80 }", code: "E102", message: "`max_used_pct` expects a percentage such as `80%`, got a number `80`" },
  ],
});

/** A proc root whose file-nr holds the kernel's three numbers, tab-separated as the kernel prints them. */
function procWithFileNr(allocated: number, max: number): { proc: string; etc: string } {
  const proc = mkdtempSync(join(tmpdir(), "covenant-filenr-"));
  mkdirSync(join(proc, "sys", "fs"), { recursive: true });
  writeFileSync(join(proc, "sys", "fs", "file-nr"), `${allocated}\t0\t${max}\n`);
  return { proc, etc: "/etc" };
}

/** Samples learnt at `now`'s hour of the week: alternately mean-spread and mean+spread. */
function learnt(now: Date, mean: number, spread: number, count = 12): MemorySamples {
  const samples = new MemorySamples();
  for (let i = 0; i < count; i++) samples.observe("filehandles.used", hourOfWeek(now), i % 2 === 0 ? mean - spread : mean + spread);
  return samples;
}

describe("filehandles behaviour", () => {
  const now = new Date(2026, 10, 23, 14, 30); // a Monday afternoon, local time
  const roots = procWithFileNr(1000, 10000);

  it("is kept under the share and the count promised", async () => {
    const r = await evaluateOne("filehandles { max_used_pct = 10% max_used = 1000 }", { roots });
    expect([r.outcome, r.reason, r.notes]).toEqual(["kept", "as promised", []]);
  });

  it("reports use over the share of the maximum and over the count", async () => {
    const r = await evaluateOne("filehandles { max_used_pct = 5% max_used = 999 }", { roots });
    expect(r.outcome).toBe("drift");
    expect(r.differences).toEqual([
      { attribute: "max_used_pct", expected: "at most 5%", observed: "10%", reason: "10% of the kernel's file handles are in use (1000 of 10000), at most 5% promised" },
      { attribute: "max_used", expected: "at most 999", observed: "1000", reason: "1000 file handles are in use, at most 999 promised" },
    ]);
  });

  it("reads the real host's counts", async () => {
    expect((await evaluateOne("filehandles { max_used_pct = 100% }")).outcome).toBe("kept");
  });

  it("learns the normal band first, without failing", async () => {
    const samples = learnt(now, 100, 5, 3);
    const r = await evaluateOne("filehandles { anomaly = 3 sigma }", { roots, now, samples });
    expect([r.outcome, r.notes]).toEqual(["kept", ["learning the normal band: 3 of 12 samples at this hour"]]);
    // the reading was learnt too
    expect(samples.bands.get(`filehandles.used@${hourOfWeek(now)}`)?.count).toBe(4);
  });

  it("reports a reading outside the learnt band for the same hour of the week", async () => {
    // 12 samples of 990 and 1010: mean 1000, standard deviation about 10.44
    const inBand = await evaluateOne("filehandles { anomaly = 3 sigma }", { roots: procWithFileNr(1020, 10000), now, samples: learnt(now, 1000, 10) });
    expect([inBand.outcome, inBand.notes]).toEqual(["kept", []]);
    const r = await evaluateOne("filehandles { anomaly = 3 sigma }", { roots: procWithFileNr(1100, 10000), now, samples: learnt(now, 1000, 10) });
    expect(r.outcome).toBe("drift");
    expect(r.differences).toEqual([
      {
        attribute: "anomaly",
        expected: "968.67 to 1031.33 (within 3 sigma of 1000)",
        observed: "1100",
        reason: "the number of file handles in use is 1100, 9.57 sigma above its normal band for this hour (mean 1000, within 3 sigma: 968.67 to 1031.33)",
      },
    ]);
  });

  it("does not judge against another hour's band, nor against a band without spread", async () => {
    const otherHour = await evaluateOne("filehandles { anomaly = 1 sigma }", { roots, now, samples: learnt(new Date(2026, 10, 23, 3), 10, 1) });
    expect([otherHour.outcome, otherHour.notes]).toEqual(["kept", ["learning the normal band: 0 of 12 samples at this hour"]]);
    const flat = await evaluateOne("filehandles { anomaly = 1 sigma }", { roots, now, samples: learnt(now, 10, 0) });
    expect([flat.outcome, flat.notes]).toEqual(["kept", ["the normal band at this hour has no spread yet (every sample was 10): anomaly not judged"]]);
  });

  it("counts the hours of the week from Monday, in local time", () => {
    expect(hourOfWeek(new Date(2026, 10, 23, 0, 0))).toBe(0);
    expect(hourOfWeek(new Date(2026, 10, 24, 13, 59))).toBe(37);
    expect(hourOfWeek(new Date(2026, 10, 29, 23, 0))).toBe(167);
  });

  it("is an error, not zero handles, when file-nr cannot be read or makes no sense", async () => {
    const empty = mkdtempSync(join(tmpdir(), "covenant-noproc-"));
    const missing = await evaluateOne("filehandles { max_used = 10 }", { roots: { proc: empty, etc: "/etc" } });
    expect([missing.outcome, missing.reason]).toEqual(["error", `cannot read the file handle counts: ${join(empty, "sys", "fs", "file-nr")} does not exist`]);
    const zero = await evaluateOne("filehandles { max_used = 10 }", { roots: procWithFileNr(5, 0) });
    expect(zero.outcome).toBe("error");
    expect(zero.reason).toMatch(/gives a maximum of 0 handles$/);
  });

  it("plans no changes", async () => {
    expect((await behavioursFor(["filehandles"])).get("filehandles")?.repair).toBeUndefined();
    const r = await evaluateOne("filehandles { max_used = 1 }", { roots });
    expect([r.outcome, r.changes]).toEqual(["drift", []]);
  });
});
