// A watcher that stopped beating without saying so is a deficiency of Covenant's own: `covenant
// run` records it (control covenant.watch), says it, exits 1, and resolves it once the watcher
// beats again or has stopped cleanly. The heartbeats are written through the store, as the
// watcher writes them; the runs are the built CLI.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { StateStore, type Beat, type ChangeBody } from "../../src/store/store.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

const KEY = "covenant.watch/watcher:heartbeat";
const ownTicks = () => Number(readFileSync(`/proc/${process.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19]);

/** A policy of one kept file (stakeholder ops, control owner security), and a state directory after a first run. */
function scene(): { policy: string; state: string } {
  const dir = mkdtempSync(join(tmpdir(), "covenant-watcherhealth-"));
  const file = join(dir, "gl.dat");
  writeFileSync(file, "entry\n", { mode: 0o640 });
  const policy = join(dir, "p.promise");
  writeFileSync(policy, `stakeholder ops\nstakeholder security\ncontrol "C-1" {\n  title = "ledger"\n  owner = security\n  file "${file}" -> [ops] { mode = 0640 }\n}\n`);
  const state = join(dir, "state");
  mkdirSync(state, { mode: 0o700 });
  return { policy, state };
}

/** Writes a heartbeat as the watcher does (the test process stands for it: its pid is alive). */
function beat(state: string, over: Partial<Beat> = {}): Beat {
  const b: Beat = { pid: process.pid, startTicks: ownTicks(), started: new Date(Date.now() - 3_600_000).toISOString(), lastBeat: new Date().toISOString(), policy: "ab".repeat(32), intervalMs: 10_000, ...over };
  const store = StateStore.open(state);
  try {
    store.beat(b);
  } finally {
    store.close();
  }
  return b;
}

function watchDeficiencies(state: string) {
  const store = StateStore.openReadOnly(state);
  try {
    return store.listDeficiencies({ status: "all" }).filter((d) => d.key === KEY);
  } finally {
    store.close();
  }
}

function watchChanges(state: string): ChangeBody[] {
  const store = StateStore.openReadOnly(state);
  try {
    return store.history({ kinds: ["change"] }).map((e) => e.body as ChangeBody).filter((b) => b.key === KEY);
  } finally {
    store.close();
  }
}

describe("the watcher's heartbeat, judged by covenant run", () => {
  it("no watcher ever: nothing is said or recorded", () => {
    const s = scene();
    const r = covenant(["run", "--state", s.state, s.policy]);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain("the watcher");
    expect(watchDeficiencies(s.state)).toEqual([]);
  });

  it("a watcher whose process is gone: a deficiency, said and recorded once, resolved when it beats again", () => {
    const s = scene();
    expect(covenant(["run", "--quiet", "--state", s.state, s.policy]).code).toBe(0);
    // this pid with another start time: another process, so the watcher that wrote it is gone
    const gone = beat(s.state, { startTicks: ownTicks() + 1 });
    const first = covenant(["run", "--quiet", "--state", s.state, s.policy]);
    expect(first.code).toBe(1);
    expect(first.out).toContain(`note: the watcher is not watching: its process (pid ${process.pid}) is gone; its last beat was at ${gone.lastBeat}; recorded as a deficiency of Covenant's own (covenant.watch)`);
    expect(first.out).toContain("no deficiencies in the policy; 1 of Covenant's own: covenant.watch (see the note above)");
    const [d] = watchDeficiencies(s.state);
    expect(d).toMatchObject({ status: "open", outcome: "error", control: { id: "covenant.watch", severity: "high" }, promise: { type: "watcher", promiser: "heartbeat", stakeholders: ["ops", "security"], file: join(s.state, "state.db") } });
    expect(d!.reason).toBe(`the watcher is not watching: its process (pid ${process.pid}) is gone; its last beat was at ${gone.lastBeat}`);

    // still gone: said again, exit 1, no second record
    const second = covenant(["run", "--quiet", "--state", s.state, s.policy]);
    expect(second.code).toBe(1);
    expect(second.out).toContain("the watcher is not watching");
    const json = covenant(["run", "--json", "--state", s.state, s.policy]);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.out) as { run: { covenantDeficiencies?: string[] } }).run.covenantDeficiencies).toEqual(["covenant.watch"]);
    expect(watchChanges(s.state)).toHaveLength(1);
    expect(covenant(["deficiencies", "--state", s.state]).out).toContain("covenant.watch");

    beat(s.state);
    const back = covenant(["run", "--state", s.state, s.policy]);
    expect(back.code).toBe(0);
    expect(back.out).toContain(`note: the watcher beats again (pid ${process.pid}, last beat at `);
    expect(back.out).toContain("its deficiency (covenant.watch) is resolved");
    expect(watchDeficiencies(s.state)).toMatchObject([{ status: "resolved", resolvedBy: "kept" }]);
    expect(watchChanges(s.state).map((c) => c.to)).toEqual(["error", "kept"]);
    // resolved and beating: nothing more to say
    expect(covenant(["run", "--quiet", "--state", s.state, s.policy])).toMatchObject({ code: 0, out: "" });
    const v = covenant(["verify", "--state", s.state]);
    expect(v.code).toBe(0);
  });

  it("a watcher alive but silent past three intervals is stale too; one that stopped cleanly resolves it", () => {
    const s = scene();
    const old = beat(s.state, { lastBeat: new Date(Date.now() - 10 * 60_000).toISOString(), intervalMs: 1_000 });
    const r = covenant(["run", "--state", s.state, s.policy]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`note: the watcher is not watching: its last beat was at ${old.lastBeat.replace(/\./g, "\\.")}, 10m ago \\(it beats every 1s; stale after 31s\\); its process \\(pid ${process.pid}\\) is still there, hung or stopped`));
    const store = StateStore.open(s.state);
    expect(store.stopWatcher({ pid: process.pid, startTicks: ownTicks() }, new Date().toISOString())).toBe(true);
    store.close();
    const stopped = covenant(["run", "--state", s.state, s.policy]);
    expect(stopped.code).toBe(0);
    expect(stopped.out).toMatch(/note: the watcher stopped cleanly at \S+ \(pid \d+\): its deficiency \(covenant\.watch\) is resolved/);
    expect(watchDeficiencies(s.state)).toMatchObject([{ status: "resolved" }]);
  });

  it("is told, as any deficiency, to the stakeholders of the promises a watcher watches", () => {
    const s = scene();
    const reports = join(s.state, "..", "reports");
    mkdirSync(reports, { mode: 0o700 });
    const config = join(s.state, "..", "covenant.yaml");
    writeFileSync(config, `version: 1\nchannels:\n  digest:\n    type: report\n    directory: ${reports}\n    formats: [json]\nstakeholders:\n  ops:\n    channels: [digest]\nroute:\n  receivers: [owners]\n  group_wait: 0s\n`, { mode: 0o600 });
    expect(covenant(["run", "--quiet", "--config", config, "--state", s.state, s.policy]).code).toBe(0);
    beat(s.state, { startTicks: ownTicks() + 1 });
    const r = covenant(["run", "--config", config, "--state", s.state, s.policy]);
    expect(r.code).toBe(1);
    const [d] = watchDeficiencies(s.state);
    expect(r.out).toContain(`${d!.id} covenant.watch/watcher:heartbeat error: ops by digest (sent)`);
    const digest = readFileSync(join(reports, readdirSync(reports).find((f) => f.endsWith(".json"))!), "utf8");
    expect(digest).toContain(d!.id);
    expect(digest).toContain("the watcher is not watching");
  });

  it("a dry run says it and exits 1, recording nothing", () => {
    const s = scene();
    expect(covenant(["run", "--quiet", "--state", s.state, s.policy]).code).toBe(0);
    beat(s.state, { startTicks: ownTicks() + 1 });
    const r = covenant(["run", "--dry-run", "--state", s.state, s.policy]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("a real run records it as a deficiency of Covenant's own (covenant.watch)");
    expect(watchDeficiencies(s.state)).toEqual([]);
  });

  it("a heartbeat changed outside Covenant cannot vouch for the watcher: a deficiency, and verify reports it", () => {
    const s = scene();
    expect(covenant(["run", "--quiet", "--state", s.state, s.policy]).code).toBe(0);
    beat(s.state, { startTicks: ownTicks() + 1 });
    // a dead watcher made to look alive: its start time set to this live process's
    const db = new Database(join(s.state, "state.db"));
    db.prepare("UPDATE watcher SET start_ticks = ?").run(ownTicks());
    db.close();
    const r = covenant(["run", "--state", s.state, s.policy]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("note: the watcher is not watching: the watcher's heartbeat was changed outside Covenant (its seal does not match)");
    expect(watchDeficiencies(s.state)).toMatchObject([{ status: "open" }]);
    expect(covenant(["verify", "--state", s.state]).out).toContain("TAMPERED: the watcher's heartbeat was changed outside Covenant");
  });
});
