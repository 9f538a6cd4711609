// The approved states a long-running process (the watcher) reads run after run are kept between
// reads, and read afresh by the next run when anything else wrote the database: a row edited by
// hand (tampering) or approved by another process is never hidden by what was read before.
import Database from "better-sqlite3";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { StateStore } from "../../src/store/store.ts";
import { removeTempDirs, runBody, tempDir } from "./helpers.ts";

afterAll(() => removeTempDirs());

const STATE = { status: "present" as const, type: "file" as const, mode: 0o644, uid: 0, gid: 0, size: 4, mtimeMs: 1, dev: 1, inode: 2, nlink: 1, sha256: "a".repeat(64) };

describe("approved states read by a long-running process", () => {
  it("a row edited by another connection between two runs is found tampered by the next run", () => {
    const dir = tempDir("approved-cache");
    const store = StateStore.open(dir);
    let run = store.beginRun("run");
    store.recordFirst("file:/srv/a", [{ hostPath: "/srv/a", entry: { state: STATE } }], "2026-12-06T00:00:00.000Z");
    store.finishRun(runBody(run, 0));
    run = store.beginRun("run");
    expect(store.approved("/srv/a")).toMatchObject({ state: { mode: 0o644 } });
    expect(store.approved("/srv/b")).toBeUndefined();
    store.finishRun(runBody(run, 0));

    const other = new Database(join(dir, "state.db"));
    other.prepare("UPDATE approved_states SET state = ? WHERE path = '/srv/a'").run(JSON.stringify({ ...STATE, mode: 0o666 }));
    other.close();

    run = store.beginRun("run");
    expect(store.approved("/srv/a")?.tampered).toBe(true);
    store.finishRun(runBody(run, 0));
    store.close();
  });

  it("what this connection approves is read back at once", () => {
    const dir = tempDir("approved-cache");
    const store = StateStore.open(dir);
    const run = store.beginRun("run");
    expect(store.approved("/srv/a")).toBeUndefined();
    store.recordFirst("file:/srv/a", [{ hostPath: "/srv/a", entry: { state: STATE } }], "2026-12-06T00:00:00.000Z");
    expect(store.approved("/srv/a")).toMatchObject({ state: { mode: 0o644 } });
    store.finishRun(runBody(run, 0));
    store.close();
  });
});
