// The plugin protocol (docs/plugins.md): one JSON object a line on the plugin's stdin and
// stdout. Covenant starts the plugin for each operation (argv only, no shell, a fixed
// environment, in its own process group), writes the request and `terminate`, reads the first
// line of the reply, and kills the group when the operation's time is up. Everything the plugin
// says is outside text: it is checked for shape here and escaped and cut before it is kept.
import { lstatSync } from "node:fs";
import { childProcess } from "../native/builtins-on-use.js";
import { programRefusal } from "../trust/programs.js";
import { runningAsRoot } from "../trust/strict-modes.js";
import { escapeText } from "../text/escape.js";

export const PROTOCOL_VERSION = 1;

export interface PluginRequest {
  operation: "evaluate" | "repair";
  type: string;
  promiser: unknown;
  attributes: Record<string, unknown>;
  /** with `repair`: what `evaluate` reported */
  differences?: PluginDifference[];
}

export interface PluginDifference {
  attribute: string;
  expected: string;
  observed: string;
  reason: string;
}

export type EvaluateReply = { result: "kept" } | { result: "drift"; differences: PluginDifference[] } | { result: "error"; message: string };
export type RepairReply = { result: "repaired"; changes: string[] } | { result: "failed"; message: string };

/** The most of a reply that is read: a reply is a verdict, not a data dump. */
const MAX_REPLY = 256 * 1024;
/** How long a plugin may take to exit once it has replied and been told to terminate. */
const EXIT_GRACE_MS = 1000;
/** A reason or message as kept: one line, escaped, cut. */
const MAX_TEXT = 300;

/** The environment a plugin runs with: the system's PATH, not the caller's (nor its secrets). */
export function pluginEnvironment(): NodeJS.ProcessEnv {
  return { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };
}

/**
 * Why the plugin may not run: as root, its program, and every file its argv names by an
 * absolute path (the script an interpreter runs), must be one no other user can change, by the
 * same rule as policy files and programs (trust/programs.ts).
 */
export function pluginRefusal(argv: string[], asRoot = runningAsRoot()): string | undefined {
  if (!asRoot) return undefined;
  for (const [i, arg] of argv.entries()) {
    if (i > 0 && !isExistingFile(arg)) continue;
    const refused = programRefusal(arg);
    if (refused) return refused;
  }
  return undefined;
}

function isExistingFile(arg: string): boolean {
  if (!arg.startsWith("/")) return false;
  try {
    return lstatSync(arg).isFile();
  } catch {
    return false;
  }
}

/** One line of text from the plugin as Covenant keeps it. */
export function pluginText(value: unknown): string {
  const text = escapeText(typeof value === "string" ? value : JSON.stringify(value) ?? "");
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

/**
 * Runs one operation: starts the plugin, sends the request, and returns its reply object.
 * Throws (with a sentence for the report) when it cannot be started, is refused, times out,
 * exits without replying or replies with something that is not a JSON object.
 */
export async function callPlugin(argv: string[], request: PluginRequest, timeoutMs: number, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const refused = pluginRefusal(argv);
  if (refused) throw new Error(`the plugin ${argv[0]} was not run: ${refused}`);
  const line = JSON.stringify({ protocol: PROTOCOL_VERSION, ...request }) + "\n" + JSON.stringify({ protocol: PROTOCOL_VERSION, operation: "terminate" }) + "\n";
  const child = childProcess().spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: pluginEnvironment(), cwd: "/", detached: true });
  let exited = false;
  child.once("exit", () => (exited = true));
  // never after it has exited: its process group id may since be another's
  const killGroup = () => {
    if (exited) return;
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  return new Promise((resolve, reject) => {
    let out = "";
    let errLine = "";
    let settled = false;
    const finish = (err: Error | undefined, reply?: Record<string, unknown>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      // a plugin that replied has a moment to exit after `terminate`; then its group is killed
      if (err) killGroup();
      else setTimeout(killGroup, EXIT_GRACE_MS).unref();
      if (err) reject(err);
      else resolve(reply!);
    };
    const onAbort = () => finish(new Error(`the plugin ${argv[0]} was stopped: the promise's timeout expired`));
    const timer = setTimeout(() => finish(new Error(`the plugin ${argv[0]} did not reply within ${timeoutMs / 1000}s; it was killed`)), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    child.once("error", (e) => finish(new Error(`cannot start the plugin ${argv[0]}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    child.stdin.on("error", () => undefined); // a plugin that exits without reading: its reply (or exit) says why
    child.stdin.end(line);
    child.stderr.on("data", (chunk: Buffer) => {
      if (errLine.length < MAX_TEXT) errLine += chunk.toString("utf8");
    });
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const nl = out.indexOf("\n");
      if (nl >= 0) finish(undefined, ...parseReply(out.slice(0, nl), argv[0]!, finish));
      else if (out.length > MAX_REPLY) finish(new Error(`the plugin ${argv[0]} wrote more than ${MAX_REPLY} bytes without ending its reply line`));
    });
    child.once("close", (code, sig) => {
      if (out.trim() !== "") return finish(undefined, ...parseReply(out, argv[0]!, finish));
      const why = sig ? `was killed by ${sig}` : `exited with status ${code}`;
      const stderr = errLine.split("\n")[0]?.trim();
      finish(new Error(`the plugin ${argv[0]} ${why} without replying${stderr ? `: ${pluginText(stderr)}` : ""}`));
    });
  });
}

/** The reply object of one line, or a rejection through `finish` (returned as nothing to resolve with). */
function parseReply(text: string, program: string, finish: (err: Error) => void): [Record<string, unknown>] | [] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    finish(new Error(`the plugin ${program} replied with a line that is not JSON: ${pluginText(text.slice(0, 80))}`));
    return [];
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    finish(new Error(`the plugin ${program} replied with ${pluginText(text.slice(0, 80))}, not a JSON object`));
    return [];
  }
  return [value as Record<string, unknown>];
}

/** The evaluate reply in the protocol's terms, or a sentence saying what is wrong with it. */
export function readEvaluateReply(reply: Record<string, unknown>): EvaluateReply | string {
  switch (reply["result"]) {
    case "kept":
      return { result: "kept" };
    case "error":
      return { result: "error", message: pluginText(reply["message"] ?? "no message") };
    case "drift": {
      const list = reply["differences"];
      if (!Array.isArray(list) || list.length === 0) return "a `drift` reply needs a non-empty `differences` list";
      const differences: PluginDifference[] = [];
      for (const d of list as unknown[]) {
        if (typeof d !== "object" || d === null) return "each of `differences` is an object";
        const o = d as Record<string, unknown>;
        if (typeof o["reason"] !== "string") return "each of `differences` has a `reason` string";
        differences.push({ attribute: pluginText(o["attribute"] ?? ""), expected: pluginText(o["expected"] ?? ""), observed: pluginText(o["observed"] ?? ""), reason: pluginText(o["reason"]) });
      }
      return { result: "drift", differences };
    }
    default:
      return "`result` is one of `kept`, `drift` or `error` in reply to `evaluate`";
  }
}

/** The repair reply in the protocol's terms, or a sentence saying what is wrong with it. */
export function readRepairReply(reply: Record<string, unknown>): RepairReply | string {
  switch (reply["result"]) {
    case "repaired": {
      const changes = reply["changes"];
      if (changes !== undefined && !Array.isArray(changes)) return "`changes` is a list of strings";
      return { result: "repaired", changes: ((changes as unknown[] | undefined) ?? []).map(pluginText) };
    }
    case "failed":
      return { result: "failed", message: pluginText(reply["message"] ?? "no message") };
    default:
      return "`result` is `repaired` or `failed` in reply to `repair`";
  }
}
