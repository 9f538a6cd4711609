import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hourOfWeek } from "../../src/evaluator/anomaly.ts";
import { behavioursFor } from "../../src/evaluator/behaviours.ts";
import { MemorySamples } from "../../src/store/memory.ts";
import { evaluateOne } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("load", {
  valid: ["load { max_1m = 16 max_15m = 4.5 per_cpu = true }", "load { min_available_memory = 512MiB anomaly = 3 sigma }", "load { min_available_memory = 10% }"],
  invalid: [
    { promise: "load { max_1m = -1 }", code: "E103" },
    { promise: "load { per_cpu = true }", code: "E104", message: /promises nothing/ },
  ],
});

interface ProcFiles {
  loadavg?: string;
  /** MemTotal and MemAvailable in kB; `available: undefined` leaves MemAvailable out (kernels before 3.14) */
  memory?: { totalKb: number; availableKb: number | undefined };
  cpus?: number;
}

/** A proc root made from this host's files with the numbers the test needs written in. */
function procRoot(files: ProcFiles): { proc: string; etc: string } {
  const proc = mkdtempSync(join(tmpdir(), "covenant-load-"));
  if (files.loadavg !== undefined) writeFileSync(join(proc, "loadavg"), `${files.loadavg}\n`);
  if (files.memory) {
    const { totalKb, availableKb } = files.memory;
    const lines = readFileSync("/proc/meminfo", "latin1")
      .split("\n")
      .filter((l) => !(availableKb === undefined && l.startsWith("MemAvailable:")))
      .map((l) => l.replace(/^MemTotal:\s+\d+/, `MemTotal:       ${totalKb}`).replace(/^MemAvailable:\s+\d+/, `MemAvailable:   ${availableKb}`));
    writeFileSync(join(proc, "meminfo"), lines.join("\n"));
  }
  if (files.cpus !== undefined) {
    const cpu = (n: number) => `processor\t: ${n}\nvendor_id\t: GenuineIntel\nmodel name\t: test CPU\n`;
    writeFileSync(join(proc, "cpuinfo"), Array.from({ length: files.cpus }, (_, n) => cpu(n)).join("\n"));
  }
  return { proc, etc: "/etc" };
}

describe("load behaviour", () => {
  // 16 GiB of memory, 1 GiB of it available; four CPUs
  const roots = procRoot({ loadavg: "3.20 2.40 1.60 2/412 32742", memory: { totalKb: 16 * 1024 * 1024, availableKb: 1024 * 1024 }, cpus: 4 });

  it("is kept under the load limits and above the memory floor", async () => {
    const r = await evaluateOne("load { max_1m = 3.2 max_5m = 2.5 max_15m = 2 min_available_memory = 1GiB }", { roots });
    expect([r.outcome, r.reason, r.notes]).toEqual(["kept", "as promised", []]);
    expect((await evaluateOne("load { max_1m = 1 per_cpu = true min_available_memory = 5% }", { roots })).outcome).toBe("kept");
  });

  it("reports each load average over its limit", async () => {
    const r = await evaluateOne("load { max_1m = 3 max_5m = 2 max_15m = 2 }", { roots });
    expect(r.outcome).toBe("drift");
    expect(r.differences).toEqual([
      { attribute: "max_1m", expected: "at most 3", observed: "3.2", reason: "the 1-minute load average is 3.2, at most 3 promised" },
      { attribute: "max_5m", expected: "at most 2", observed: "2.4", reason: "the 5-minute load average is 2.4, at most 2 promised" },
    ]);
  });

  it("divides by the CPUs the proc root lists when per_cpu is true", async () => {
    const r = await evaluateOne("load { max_1m = 0.5 per_cpu = true }", { roots });
    expect(r.differences).toEqual([{ attribute: "max_1m", expected: "at most 0.5 per CPU", observed: "0.8", reason: "the 1-minute load average per CPU is 0.8 (3.2 over 4 CPUs), at most 0.5 promised" }]);
  });

  it("falls back to the running host's CPU count when the proc root has no cpuinfo, and says so", async () => {
    const bare = procRoot({ loadavg: "0.00 0.00 0.00 1/100 1" });
    const r = await evaluateOne("load { max_5m = 1 per_cpu = true }", { roots: bare });
    expect(r.outcome).toBe("kept");
    expect(r.notes).toEqual([`CPU count taken from the running host (${availableParallelism()}): ${join(bare.proc, "cpuinfo")} does not exist`]);
  });

  it("reports too little available memory, as a size or as a share of the total", async () => {
    const size = await evaluateOne("load { min_available_memory = 1.5GiB }", { roots });
    expect(size.differences).toEqual([{ attribute: "min_available_memory", expected: "at least 1.5 GiB", observed: "1 GiB", reason: "available memory is 1 GiB, at least 1.5 GiB promised" }]);
    const share = await evaluateOne("load { min_available_memory = 10% }", { roots });
    expect(share.reason).toBe("available memory is 6.25% of 16 GiB (1 GiB), at least 10% promised");
  });

  it("reads the real host", async () => {
    expect((await evaluateOne("load { max_15m = 100000 per_cpu = true min_available_memory = 1MiB }")).outcome).toBe("kept");
  });

  it("judges the 5-minute load against its learnt band for the hour", async () => {
    const now = new Date(2026, 10, 27, 9, 5); // a Friday morning, local time
    const samples = new MemorySamples();
    for (let i = 0; i < 12; i++) samples.observe("load.5m", hourOfWeek(now), i % 2 === 0 ? 0.9 : 1.1);
    const r = await evaluateOne("load { anomaly = 3 sigma }", { roots, now, samples });
    expect(r.outcome).toBe("drift");
    expect(r.reason).toBe("the 5-minute load average is 2.4, 13.4 sigma above its normal band for this hour (mean 1, within 3 sigma: 0.69 to 1.31)");
    const learning = await evaluateOne("load { anomaly = 3 sigma }", { roots, now, samples: new MemorySamples() });
    expect([learning.outcome, learning.notes]).toEqual(["kept", ["learning the normal band: 0 of 12 samples at this hour"]]);
  });

  it("reads only what the promise names: a load limit needs no meminfo", async () => {
    expect((await evaluateOne("load { max_1m = 10 }", { roots: procRoot({ loadavg: "1.00 1.00 1.00 1/100 1" }) })).outcome).toBe("kept");
  });

  it("is an error, never zero, when a value cannot be read", async () => {
    const noAvailable = procRoot({ loadavg: "1.00 1.00 1.00 1/100 1", memory: { totalKb: 1024, availableKb: undefined } });
    const memory = await evaluateOne("load { min_available_memory = 10% }", { roots: noAvailable });
    expect([memory.outcome, memory.reason]).toEqual(["error", `cannot read the available memory: ${join(noAvailable.proc, "meminfo")} has no MemTotal or MemAvailable`]);
    const noLoad = procRoot({ memory: { totalKb: 1024, availableKb: 512 } });
    const load = await evaluateOne("load { max_5m = 10 }", { roots: noLoad });
    expect([load.outcome, load.reason]).toEqual(["error", `cannot read the load averages: ${join(noLoad.proc, "loadavg")} does not exist`]);
  });

  it("plans no changes", async () => {
    expect((await behavioursFor(["load"])).get("load")?.repair).toBeUndefined();
    const r = await evaluateOne("load { max_1m = 1 }", { roots });
    expect([r.outcome, r.changes]).toEqual(["drift", []]);
  });
});
