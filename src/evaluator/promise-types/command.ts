import { spawn, type SpawnOptions } from "node:child_process";
import { programRefusal } from "../../trust/programs.js";
import { runningAsRoot } from "../../trust/strict-modes.js";
import type { CheckedPromise } from "../../checker/policy.js";
import { COMMANDS_ANSWER, recordedCommand } from "../../probes/recorded-commands.js";
import { attr, type Difference, type EvalContext, type Observation, type PromiseBehaviour } from "../contract.js";

interface CommandRun {
  /** the command as people read it */
  shown: string;
  exitCode: number;
  stdout: string;
  /** bytes of standard output beyond max_output, discarded */
  discarded: number;
  /** the first line of standard error, for the report */
  stderrLine: string;
}

const defaultMaxOutput = 64 * 1024;
const stderrKept = 4096;

function shownCommand(argv: string[]): string {
  return `\`${argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ")}\``;
}

/** Keeps the first `limit` bytes of a stream and counts the rest, which it drains so that the program never blocks on a full pipe. */
class Capped {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  discarded = 0;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    const room = this.limit - this.kept;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.chunks.push(part);
      this.kept += part.length;
    }
    this.discarded += Math.max(0, chunk.length - Math.max(0, room));
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

/**
 * What the program did, as a sandbox's fixture recorded it (`commands`): nothing is run. Output
 * past `max_output` is discarded as from a real run, so a promise is judged the same either way.
 */
function recordedRun(p: CheckedPromise, answers: string): Observation<CommandRun> {
  const argv = p.promiser as string[];
  const shown = shownCommand(argv);
  const r = recordedCommand(answers, argv);
  if (!r.ok) return { ok: false, error: `${shown} was not run (a sandbox runs no program): ${r.error}` };
  const bytes = Buffer.from(r.value.stdout, "utf8");
  const limit = attr<number>(p, "max_output") ?? defaultMaxOutput;
  const stdout = bytes.length > limit ? bytes.subarray(0, limit).toString("utf8") : r.value.stdout;
  return { ok: true, value: { shown, exitCode: r.value.exit_code, stdout, discarded: Math.max(0, bytes.length - limit), stderrLine: r.value.stderr.trim().split("\n")[0] ?? "" } };
}

async function runCommand(p: CheckedPromise, ctx: EvalContext): Promise<Observation<CommandRun>> {
  if (ctx.roots.answers !== undefined) return recordedRun(p, ctx.roots.answers);
  const argv = p.promiser as string[];
  const shown = shownCommand(argv);
  const user = attr<string>(p, "user");
  const options: SpawnOptions = {
    stdio: ["ignore", "pipe", "pipe"],
    // its own process group, so that a timeout stops whatever the command started as well
    detached: true,
  };
  if (user !== undefined) {
    const accounts = ctx.snapshot.accounts();
    if (!accounts.ok) return { ok: false, error: `the accounts cannot be read to run ${shown} as ${user}: ${accounts.error.message}` };
    const account = accounts.value.users.find((u) => u.name === user);
    if (!account) return { ok: false, error: `${shown} cannot run as ${user}: no such user on this host` };
    options.uid = account.uid;
    options.gid = account.gid;
  }
  if (ctx.stop.aborted) return { ok: false, error: `${shown} was not run: the promise's timeout had expired` };
  // as root, a program another user can change is not run (trust/programs.ts)
  if (runningAsRoot() && (options.uid === undefined || options.uid === 0)) {
    const refused = programRefusal(argv[0]!);
    if (refused) return { ok: false, error: `${shown} was not run: ${refused}` };
  }
  const stdout = new Capped(attr<number>(p, "max_output") ?? defaultMaxOutput);
  const stderr = new Capped(stderrKept);

  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(argv[0]!, argv.slice(1), options);
    } catch (err) {
      // spawn throws synchronously for some bad options (EPERM when not root and asked for a uid)
      resolve({ ok: false, error: startError(shown, user, err as NodeJS.ErrnoException) });
      return;
    }
    const stop = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // the group has already gone
      }
    };
    ctx.signal.addEventListener("abort", stop, { once: true });
    child.stdout!.on("data", (c: Buffer) => stdout.add(c));
    child.stderr!.on("data", (c: Buffer) => stderr.add(c));
    child.once("error", (err: NodeJS.ErrnoException) => {
      ctx.signal.removeEventListener("abort", stop);
      resolve({ ok: false, error: startError(shown, user, err) });
    });
    child.once("close", (code, signal) => {
      ctx.signal.removeEventListener("abort", stop);
      // Once the timeout has expired the engine has decided the outcome and no longer waits:
      // an answer now would only race with it (and overwrite its "timed out" reason).
      if (ctx.stop.aborted) return;
      if (code === null) return resolve({ ok: false, error: `${shown} was killed by ${signal ?? "a signal"}` });
      const stderrLine = stderr.text().trim().split("\n")[0] ?? "";
      resolve({ ok: true, value: { shown, exitCode: code, stdout: stdout.text(), discarded: stdout.discarded, stderrLine } });
    });
  });
}

function startError(shown: string, user: string | undefined, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "ENOENT":
      return `${shown} cannot run: the program does not exist`;
    case "EACCES":
      return `${shown} cannot run: permission denied (is the program executable?)`;
    case "EPERM":
      return `${shown} cannot run${user === undefined ? "" : ` as ${user}`}: operation not permitted${user === undefined ? "" : " (running as another user needs root)"}`;
    default:
      return `${shown} cannot run: ${err.message}`;
  }
}

const QUOTED_MAX = 200;

/**
 * Text the command wrote, quoted for a reason: on one line, every control character, line
 * break and bidirectional control written as an escape, cut to QUOTED_MAX characters. The
 * reason reaches terminals, reports and the store; what the command printed must not forge a
 * line there or reach a terminal as an escape sequence.
 */
export function quoteOutput(text: string): string {
  const cut = text.length > QUOTED_MAX ? `${text.slice(0, QUOTED_MAX)}…` : text;
  return JSON.stringify(cut).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The 1-based number and the text of the line of `text` holding offset `at`. */
function lineAt(text: string, at: number): { number: number; text: string } {
  const start = text.lastIndexOf("\n", at - 1) + 1;
  const end = text.indexOf("\n", at);
  let number = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < start; i = text.indexOf("\n", i + 1)) number++;
  return { number, text: text.slice(start, end === -1 ? text.length : end).replace(/\r$/, "") };
}

function lineCount(text: string): number {
  if (text === "") return 0;
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
  return text.endsWith("\n") ? n : n + 1;
}

const WITHHELD = "(withheld: nodiff)";

export const commandBehaviour: PromiseBehaviour<CommandRun> = {
  notInSandbox: "a command reads the real host, not the sandbox's files (a dry run does run it: it only observes); a fixture's `commands` records what it would print",
  sandboxAnswer: COMMANDS_ANSWER,

  async observe(p, ctx) {
    const run = await runCommand(p, ctx);
    if (run.ok && run.value.discarded > 0) {
      const kept = attr<number>(p, "max_output") ?? defaultMaxOutput;
      run.notes = [`${run.value.shown} wrote ${kept + run.value.discarded} bytes of output; only the first ${kept} (max_output) were kept and matched`];
    }
    return run;
  },

  judge(p, run) {
    // line by line, as grep reads output: `^ok$` matches the line `ok`, trailing newline and all
    const pattern = (source: string) => new RegExp(source, "m");
    const exitCode = attr<number>(p, "exit_code") ?? 0;
    const matches = attr<string>(p, "output_matches");
    const excludes = attr<string>(p, "output_excludes");
    const secret = attr<boolean>(p, "nodiff") ?? false;
    const diffs: Difference[] = [];
    if (run.exitCode !== exitCode) {
      const stderr = run.stderrLine === "" ? "" : secret ? " (standard error withheld: nodiff)" : ` (${quoteOutput(run.stderrLine)} on standard error)`;
      diffs.push({ attribute: "exit_code", expected: String(exitCode), observed: String(run.exitCode), reason: `${run.shown} exited with status ${run.exitCode}, promised ${exitCode}${stderr}` });
    }
    if (matches !== undefined && !pattern(matches).test(run.stdout)) {
      const lines = lineCount(run.stdout);
      const said = lines === 0 ? `${run.shown} printed nothing` : `no line of the output of ${run.shown} (${lines} line${lines === 1 ? "" : "s"}) matches /${matches}/`;
      diffs.push({ attribute: "output_matches", expected: `/${matches}/`, observed: lines === 0 ? "no output" : `${lines} line${lines === 1 ? "" : "s"}, none matching`, reason: lines === 0 ? `${said}, which does not match /${matches}/` : said });
    }
    if (excludes !== undefined) {
      const found = pattern(excludes).exec(run.stdout);
      if (found) {
        const line = lineAt(run.stdout, found.index);
        const observed = secret ? WITHHELD : quoteOutput(line.text);
        const quoted = secret ? "" : `: ${observed}`;
        diffs.push({ attribute: "output_excludes", expected: `not /${excludes}/`, observed, reason: `line ${line.number} of the output of ${run.shown} matches /${excludes}/, which it excludes${quoted}` });
      }
    }
    return diffs;
  },
};
