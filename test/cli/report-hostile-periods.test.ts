// Attack probe: hostile periods and zones given to `covenant report` end with a clear message and
// a stable exit code (never a stack trace), whatever the format.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { StateStore } from "../../src/store/store.ts";
import { removeTempDirs, tempDir } from "../store/helpers.ts";
import { at, kept, recordRun } from "../report/report-helpers.ts";

beforeAll(() => ensureBuilt());
afterAll(() => removeTempDirs());

const cases: string[][] = [
  ["--from", "2026-02-30", "--to", "2026-03-01"],
  ["--from", "2026-03-01", "--to", "2026-03-01", "--tz", "../../etc/passwd"],
  ["--from", "9999-12-31", "--to", "9999-12-31"],
  ["--from", "0000-01-01", "--to", "2026-03-01"],
  ["--from", "2026-03-05", "--to", "2026-03-01"],
  ["--from", "1970-01-01", "--to", "275760-09-13"],
  ["--from", "2026-03-01", "--to", "2026-03-01", "--tz", "Etc/GMT+14"],
  ["--from", "2026-03-01", "--to", "2026-03-01", "--tz", "\u001b]0;x\u0007"],
  ["--from", "-271821-04-20", "--to", "2026-03-01"],
];

describe("covenant report with hostile periods", () => {
  const dir = tempDir("report-hostile");
  beforeAll(() => {
    const s = StateStore.open(dir);
    for (let h = 0; h < 5; h++) recordRun(s, { at: at(h * 60), results: kept() });
    s.close();
  });
  for (const args of cases) {
    for (const format of ["json"]) {
      it(`${args.join(" ")} (${format})`, () => {
        const out = join(tempDir("report-hostile-out"), `r.${format}`);
        const r = covenant(["report", "--state", dir, ...args, "--format", format, "--out", out]);
        expect([0, 1, 2], r.err).toContain(r.code);
        expect(r.err).not.toMatch(/\n\s+at |TypeError|RangeError|Internal error/);
        expect(r.err + r.out).not.toContain("\u001b]");
      });
    }
  }
});
