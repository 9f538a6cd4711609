// `covenant watch` where inotify falls short, end to end (the built CLI, the real kernel): its
// queue overflows (the watcher stopped with SIGSTOP while more events come than
// fs.inotify.max_queued_events holds, so a change is lost), and the per-user watch limit
// (simulated by COVENANT_WATCH_MAX_DIRS: a test must not change the host's sysctls).
import type { ChildProcess } from "node:child_process";
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { startWatcher } from "../helpers/watcher.ts";

beforeAll(() => ensureBuilt());

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    c.kill("SIGCONT");
    c.kill("SIGKILL");
  }
});

function scene(body: (dir: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), "covenant-watch-inotify-"));
  chmodSync(dir, 0o755);
  const policy = join(dir, "policy");
  mkdirSync(policy, { mode: 0o700 });
  writeFileSync(join(policy, "p.promise"), `stakeholder security { description = "Information security" }\ncontrol "W-1" {\n  title = "Watched"\n  owner = security\n${body(dir)}\n}\n`, { mode: 0o600 });
  return { dir, policy, state: join(dir, "state") };
}

function openKeys(state: string): string[] {
  const r = covenant(["deficiencies", "--json", "--state", state]);
  return (JSON.parse(r.out || "[]") as { key: string }[]).map((d) => d.key);
}

describe("covenant watch and inotify's limits", () => {
  it("an overflow of inotify's queue is said, and every realtime promise evaluated again finds the change whose event was lost", async () => {
    const s = scene((dir) => {
      mkdirSync(join(dir, "files"));
      writeFileSync(join(dir, "files", "ledger.conf"), "x\n");
      chmodSync(join(dir, "files", "ledger.conf"), 0o640);
      return `  file "${join(dir, "files", "ledger.conf")}" -> [security] {\n    mode  = 0640\n    watch = realtime\n  }`;
    });
    const ledger = join(s.dir, "files", "ledger.conf");
    const w = startWatcher(["--state", s.state, s.policy], children);
    await w.waitFor(/watch run 1 \(start-up rescan\): 1 promise, all kept/, 15_000);
    // stopped, it reads nothing: the kernel queues up to max_queued_events, then drops
    w.child.kill("SIGSTOP");
    try {
      // two events a file (IN_CREATE, IN_CLOSE_WRITE), beside the ledger in its watched directory
      for (let i = 0; i < 15_000; i++) closeSync(openSync(join(s.dir, "files", `flood${i}`), "w"));
      chmodSync(ledger, 0o644); // after the queue is full: this event is lost
    } finally {
      w.child.kill("SIGCONT");
    }
    await w.waitFor(/inotify's event queue overflowed \(fs\.inotify\.max_queued_events\): events were lost; every realtime promise is evaluated again/);
    const out = await w.waitFor(/watch run \d+ \(inotify's event queue overflowed: every realtime promise again\): 1 promise, 1 not kept\n {2}DRIFT {4}W-1\/file:/);
    expect(out).not.toMatch(/\(event on [^)]*ledger\.conf/);
    expect(openKeys(s.state)).toEqual([expect.stringMatching(/^W-1\/file:/)]);
  });

  it("directories refused a watch are a deficiency naming fs.inotify.max_user_watches and the paths, said by --status, and resolved once every watch is in place", async () => {
    const s = scene((dir) => {
      for (const d of ["a", "b", "c"]) mkdirSync(join(dir, "spool", d), { recursive: true });
      return `  directory "${join(dir, "spool")}" -> [security] {\n    recurse = true\n    watch   = realtime\n  }`;
    });
    const spool = join(s.dir, "spool");
    // the spool's parent, the spool, and one subdirectory of three
    const w = startWatcher(["--state", s.state, s.policy], children, { COVENANT_WATCH_MAX_DIRS: "3" });
    await w.waitFor(/inotify's watch limit is reached \(fs\.inotify\.max_user_watches\)/);
    await w.waitFor(/the watcher is partly blind \(2 not watched\): recorded as a deficiency of Covenant's own \(covenant\.watch\)/, 15_000);
    expect(openKeys(s.state)).toContain("covenant.watch/watcher:inotify");
    const list = JSON.parse(covenant(["deficiencies", "--json", "--state", s.state]).out) as { key: string; reason: string }[];
    const blind = list.find((d) => d.key === "covenant.watch/watcher:inotify")!;
    expect(blind.reason).toContain("fs.inotify.max_user_watches");
    expect(blind.reason).toContain(`${join(spool, "b")}, ${join(spool, "c")}`);
    const status = covenant(["watch", "--status", "--state", s.state]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/^running: .*; partly blind: the watcher is partly blind: inotify's watch limit/);
    // the refused directories go: nothing is unwatched any more
    rmSync(join(spool, "b"), { recursive: true });
    rmSync(join(spool, "c"), { recursive: true });
    await w.waitFor(/every realtime path is watched again: the deficiency \(covenant\.watch\) is resolved/);
    expect(openKeys(s.state)).not.toContain("covenant.watch/watcher:inotify");
    expect(covenant(["watch", "--status", "--state", s.state]).out).not.toMatch(/partly blind/);
  });

  it("--rescan evaluates every realtime promise again on its timer, whatever inotify said", async () => {
    const s = scene((dir) => `  file "${join(dir, "absent.conf")}" -> [security] {\n    exists = false\n    watch  = realtime\n  }\n  file "/etc/hostname" { exists = true }`);
    const w = startWatcher(["--state", s.state, "--rescan", "2s", s.policy], children);
    await w.waitFor(/watch run 1 \(start-up rescan\): 2 promises, all kept/, 15_000);
    // the realtime promise only: the other waits for its schedule (--every)
    await w.waitFor(/watch run 2 \(periodic rescan\): 1 promise, all kept/, 10_000);
    expect(covenant(["watch", "--rescan", "1ms", s.policy]).err).toMatch(/--rescan wants a duration from 1s to 168h, got `1ms`/);
  });

  it("COVENANT_WATCH_MAX_DIRS that is not a whole number is refused", () => {
    const s = scene(() => `  file "/etc/hostname" { exists = true }`);
    const r = covenant(["watch", "--state", s.state, s.policy], { env: { COVENANT_WATCH_MAX_DIRS: "lots" } });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/COVENANT_WATCH_MAX_DIRS wants a whole number of watches, got `lots`/);
  });
});
