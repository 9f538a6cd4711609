// A `covenant watch` started by a test (the built CLI, heartbeat every second), its output
// collected (stdout and stderr together), and a wait for a line to appear.
import { spawn, type ChildProcess } from "node:child_process";
import { bin } from "./cli.ts";

export interface Watcher {
  child: ChildProcess;
  out(): string;
  /** resolves when the output holds `re` (or fails after `ms`, with the output's end) */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  /** its exit status once it has ended */
  exited: Promise<number | null>;
  /** its exit status, or the signal that ended it */
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `covenant watch --heartbeat 1s ...args`; the child is added to `children` (killed after each test). */
export function startWatcher(args: string[], children: ChildProcess[], extraEnv: Record<string, string> = {}): Watcher {
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...env } = process.env;
  const child = spawn(bin, ["watch", "--heartbeat", "1s", ...args], { env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  return {
    child,
    out: () => out,
    exited: ended.then((e) => e.code),
    ended,
    async waitFor(re, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!re.test(out)) {
        if (Date.now() > deadline) throw new Error(`not in the watcher's output within ${ms} ms: ${re}\n--- output:\n${out.slice(-3000)}`);
        if (child.exitCode !== null) throw new Error(`the watcher exited (${child.exitCode}):\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return out;
    },
  };
}
