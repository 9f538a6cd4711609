// A prune on a full disk (a real tmpfs, as root): it is one transaction, so it is whole or not
// at all, and the VACUUM after it, which needs about the store's size free, fails whole and is
// said, leaving the prune standing and the store verifying.
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { StateStore, StoreError, type PruneOutcome } from "../../src/store/store.ts";
import { mountTmpfs, unmountAll } from "./mounts.ts";
import { removeTempDirs, result, runBody, tempDir } from "./helpers.ts";

afterAll(() => {
  unmountAll();
  removeTempDirs();
});

/** Fills the file system at `dir`, then frees `leave` bytes. */
function fill(dir: string, leave: number): void {
  const filler = join(dir, "filler");
  const fd = openSync(filler, "w");
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
  spawnSync("truncate", ["-s", String(Math.max(0, statSync(filler).size - leave)), filler]);
}

const evidence = (last: number) => ({ manifestSha256: "ab".repeat(32), fingerprint: "sha256:test", firstRecord: 1, lastRecord: last, from: "2026-11-01", to: "2026-11-30" });

describe("prune on a full disk", () => {
  it("is whole or not at all; a VACUUM without room is said and the prune stands", () => {
    const media = tempDir("prune-full");
    const mounted = mountTmpfs(media, "16m");
    if (!mounted.ok) return void console.warn(`skipped: ${mounted.reason}`);
    const state = join(media, "state");
    mkdirSync(state, { mode: 0o700 });
    const store = StateStore.open(state);
    // 60 runs over 100 promises, each run changing 20 of them: a few MiB of history
    for (let run = 1; run <= 60; run++) {
      store.beginRun();
      for (let i = 0; i < 100; i++) store.recordResult(run, `2026-11-${String(1 + Math.floor(run / 3)).padStart(2, "0")}T10:00:00.000Z`, result(`C-${i}/file:/srv/f${i}`, (i + run) % 5 === 0 ? "drift" : "kept", (i + run) % 5 === 0 ? [`mode is 0644 in run ${run}, promised 0640 ${"x".repeat(300)}`] : []));
      store.finishRun({ ...runBody(run, 100), started: `2026-11-${String(1 + Math.floor(run / 3)).padStart(2, "0")}T10:00:00.000Z`, finished: `2026-11-${String(1 + Math.floor(run / 3)).padStart(2, "0")}T10:00:01.000Z` });
    }
    const last = store.verify().head!.seq;
    const size = statSync(join(state, "state.db")).size;
    const outcomes: (PruneOutcome | string)[] = [];
    try {
      // free more each time: the prune fails whole, then stands (without its VACUUM while there is no room for it)
      for (let leave = 64 * 1024; leave <= size * 4; leave *= 2) {
        rmSync(join(media, "filler"), { force: true });
        fill(media, leave);
        try {
          outcomes.push(store.prune({ before: new Date("2026-11-11T00:00:00.000Z"), evidence: evidence(last) }));
          break;
        } catch (err) {
          if (!(err instanceof StoreError)) throw err;
          outcomes.push(err.message);
          expect(err.message).toMatch(/the disk is full/);
          // before the commit nothing changed; after it (moving the anchor, checkpointing the log) the prune stands and says so
          if (store.verify().checkpoint) {
            expect(err.message).toMatch(/^the prune is recorded \(record \d+: \d+ records removed, the checkpoint sealed\), but /);
            break;
          }
        } finally {
          expect(store.verify().tampering).toBeUndefined();
        }
      }
      // (which of the two depends on how the pages fall: the assertions below hold for each)
      expect(typeof outcomes[0]).toBe("string"); // the first attempt had no room
      const stood = outcomes.at(-1)!;
      if (typeof stood !== "string" && stood.notVacuumed !== undefined) expect(stood.notVacuumed).toMatch(/^cannot compact the store .*: the disk is full/);
      expect(store.verify().checkpoint).toBeDefined();
      // and with room again, the next run continues the history
      rmSync(join(media, "filler"), { force: true });
      store.beginRun();
    } finally {
      store.close();
    }
  });
});
