// The recorded answers of the programs `command` promises run, in a sandbox whose fixture gives
// them (`commands` in sandbox.json): read instead of running the program, which would read the
// real host behind the sandbox's back. Written by src/sandbox/sandbox.ts as answers/commands.json.
import { join } from "node:path";
import { readAnswer } from "./result.js";

/** What a program would have done, recorded. */
export interface SandboxCommand {
  argv: string[];
  exit_code: number;
  stdout: string;
  stderr: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The name of the recorded answers of commands, in a sandbox's answers/. */
export const COMMANDS_ANSWER = "commands.json";

/** The recorded answer of `argv` in `answers` (commands.json), or why there is none. */
export function recordedCommand(answers: string, argv: readonly string[]): { ok: true; value: SandboxCommand } | { ok: false; error: string } {
  const path = join(answers, COMMANDS_ANSWER);
  const read = readAnswer(path);
  if (!read.ok) return { ok: false, error: read.result.ok ? `${path} cannot be read` : read.result.error.message };
  let recorded: unknown;
  try {
    recorded = JSON.parse(read.text);
  } catch {
    return { ok: false, error: `${path} is not the JSON a sandbox writes` };
  }
  const list = isObject(recorded) && Array.isArray(recorded["commands"]) ? (recorded["commands"] as SandboxCommand[]) : undefined;
  if (list === undefined) return { ok: false, error: `${path} is not the JSON a sandbox writes` };
  const key = JSON.stringify(argv);
  const found = list.find((c) => isObject(c) && JSON.stringify(c.argv) === key);
  if (!found || typeof found.exit_code !== "number" || typeof found.stdout !== "string" || typeof found.stderr !== "string") {
    return { ok: false, error: `the sandbox has no recorded answer for ${key} (add it to the fixture's \`commands\`)` };
  }
  return { ok: true, value: found };
}
