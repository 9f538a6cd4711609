// Who was at a changed file and who made the change (the watcher's, attached to each result before
// it is recorded) survive into the store: the change record, the deficiency and `covenant history`
// keep them, bounded, with the holders' command lines as the watcher masked them. Real store, real files.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkPaths } from "../../src/checker/check.ts";
import { evaluateRecorded } from "../../src/run/record.ts";
import type { FileHolder } from "../../src/evaluator/file-finding.ts";
import { RECORDED_HOLDERS } from "../../src/store/recorded-findings.ts";
import { StateStore } from "../../src/store/store.ts";
import { findingLines } from "../../src/text/finding-text.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("recorded findings keep who", () => {
  it("holders (bounded) and madeBy reach the deficiency and its rendering", async () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-recorded-who-"));
    dirs.push(dir);
    mkdirSync(join(dir, "state"), { mode: 0o700 });
    const gl = join(dir, "gl.dat");
    writeFileSync(gl, "balance = 100\n");
    const policy = join(dir, "p.promise");
    writeFileSync(policy, `control "SOX-1" {\n  title = "ledger"\n  file "${gl}" { integrity = sha256 }\n}\n`, { mode: 0o600 });
    const checked = checkPaths([policy]);
    const holders: FileHolder[] = Array.from({ length: RECORDED_HOLDERS + 5 }, (_, i) => ({ pid: 1000 + i, via: "open", uid: 0, exe: "/usr/bin/vim", commandLine: "vim --password=**** gl.dat" }));
    const once = async (annotate?: Parameters<typeof evaluateRecorded>[1]["annotate"]) => {
      const store = StateStore.open(join(dir, "state"));
      try {
        const started = new Date();
        const r = await evaluateRecorded(store, { policy: checked.policy!, files: [{ path: policy, text: readFileSync(policy, "utf8") }], roots: { proc: "/proc", etc: "/etc" }, dryRun: false, etcRoot: "/etc", started, deadline: Date.now() + 60_000, kind: "run", ...(annotate ? { annotate } : {}) }, []);
        store.finishRun({ run: r.run, host: r.host, started: started.toISOString(), finished: new Date().toISOString(), policy: "x", dryRun: false, promises: r.evaluation.results.length, counts: {}, outcomes: "x" });
        return store.listDeficiencies();
      } finally {
        store.close();
      }
    };
    await once();
    chmodSync(gl, 0o600);
    const open = await once((r) => {
      for (const f of r.findings ?? []) {
        f.holders = holders;
        f.madeBy = { status: "attributed", changes: [{ at: "2026-12-06T00:00:00.000Z", serial: 5, syscall: "fchmodat", pid: 1000, uid: 0, exe: "/usr/bin/chmod" }] };
      }
    });
    expect(open).toHaveLength(1);
    const f = open[0]!.findings![0]!;
    expect(f.kinds).toContain("mode");
    expect(f.holders).toHaveLength(RECORDED_HOLDERS);
    expect(f.holdersNote).toBe("5 more processes not recorded");
    expect(f.madeBy).toMatchObject({ status: "attributed", changes: [{ serial: 5, exe: "/usr/bin/chmod" }] });
    const text = findingLines(f).join("\n");
    expect(text).toContain("at the file when seen: pid 1000 has it open, uid 0, /usr/bin/vim: vim --password=**** gl.dat");
    expect(text).toContain("made by pid 1000, uid 0, login uid unset, /usr/bin/chmod: fchmodat");
  });
});
