// When an unchanged change time proves unchanged content (src/integrity/ctime-trust.ts): only for
// a ctime older than the kernel's writeback window when the content was hashed, and never on
// tmpfs, where a write through a mapping moves no time at all.
import { mkdtempSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ctimeProvesContent, writebackWindowMs } from "../../src/integrity/ctime-trust.ts";

describe("the change-time shortcut", () => {
  const dir = mkdtempSync(join(tmpdir(), "covenant-ctime-"));
  const f = join(dir, "a");
  writeFileSync(f, "x");
  const st = statSync(f);

  it("reads the window from the kernel's writeback settings", () => {
    expect(writebackWindowMs()).toBeGreaterThanOrEqual(5_000);
  });

  it("trusts a ctime older than the window when hashed; not one within it", () => {
    const old = new Date(st.ctimeMs + writebackWindowMs() + 1_000).toISOString();
    const recent = new Date(st.ctimeMs + 1_000).toISOString();
    const onTmpfs = statSync("/dev/shm", { throwIfNoEntry: false }) !== undefined;
    // the test's own directory may itself be on tmpfs: then nothing is trusted there
    const tmpIsTmpfs = [0x01021994, 0x858458f6].includes(Number(statfsSync(dir).type));
    expect(ctimeProvesContent(st.ctimeMs, old, st.dev)).toBe(!tmpIsTmpfs);
    expect(ctimeProvesContent(st.ctimeMs, recent, st.dev)).toBe(false);
    expect(ctimeProvesContent(st.ctimeMs, "not a date", st.dev)).toBe(false);
    if (onTmpfs) {
      const g = join(mkdtempSync("/dev/shm/covenant-ctime-"), "b");
      writeFileSync(g, "y");
      const sg = statSync(g);
      expect(ctimeProvesContent(sg.ctimeMs, new Date(sg.ctimeMs + writebackWindowMs() * 2).toISOString(), sg.dev)).toBe(false);
    }
  });
});
