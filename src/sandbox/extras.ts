// What a sandbox.json may say besides files, accounts and host state: the host's `facts` (its
// name, addresses, the instant the calendar facts are judged at) and the recorded answers of the
// programs `command` promises run (`commands`). Checked here (problems added to a list, all
// reported at once), merged over a base's, and written into the sandbox: `facts.json` beside
// its marker, `answers/commands.json` with the other recorded answers.
import { isIP } from "node:net";
import type { SandboxCommand } from "../probes/recorded-commands.js";

export type { SandboxCommand } from "../probes/recorded-commands.js";

/** The facts a fixture may set: the host's own (os_* come from `os_release`), and `now`. */
export interface SandboxFacts {
  hostname?: string;
  fqdn?: string;
  os?: string;
  arch?: string;
  kernel?: string;
  ip?: string[];
  /** the instant the calendar facts (date, weekday, hour, business days) and waivers are judged at, ISO 8601 with a zone */
  now?: string;
}

export const FACT_KEYS = ["hostname", "fqdn", "os", "arch", "kernel", "ip", "now"] as const;
const NAME_FACT = /^[A-Za-z0-9_.:+-]{1,253}$/;
/** An instant with its zone: a bare date or a local time would mean a different day on every machine. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** the most output a recorded answer holds: what `max_output` may keep at most */
const MAX_OUTPUT = 1 << 20;

/** `facts`, checked: each key given replaces the base's (`null` deletes it, where there is a base). */
export function checkFacts(raw: unknown, problems: string[], hasBase: boolean): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    problems.push("`facts` must be an object such as { \"hostname\": \"gl-db-01\", \"now\": \"2026-12-31T09:00:00Z\" }");
    return undefined;
  }
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(raw)) {
    const at = `facts.${k}`;
    if (!(FACT_KEYS as readonly string[]).includes(k)) {
      const why = k.startsWith("os_") ? " (os_id, os_family and os_version come from `os_release`)" : "";
      problems.push(`${at} is not a fact a fixture sets (${FACT_KEYS.join(", ")})${why}`);
    } else if (v === null) {
      if (hasBase) out[k] = null;
      else problems.push(`${at} is null, which deletes a key of the base manifest, but this manifest extends none`);
    } else if (k === "now") {
      if (typeof v === "string" && INSTANT.test(v) && !Number.isNaN(Date.parse(v))) out[k] = v;
      else problems.push(`${at} must be an instant with its zone, such as "2026-12-31T09:00:00Z" or "2026-12-31T10:00:00+01:00"`);
    } else if (k === "ip") {
      if (Array.isArray(v) && v.every((a) => typeof a === "string" && isIP(a) !== 0)) out[k] = v;
      else problems.push(`${at} must be a list of IP addresses, such as ["10.20.0.5", "fd00::5"]`);
    } else if (typeof v === "string" && NAME_FACT.test(v)) out[k] = v;
    else problems.push(`${at} must be a name such as "gl-db-01" (letters, digits, \`_.:+-\`)`);
  }
  return out;
}

/** `commands`, checked: a list of recorded runs, at most one per argv. */
export function checkCommands(raw: unknown, problems: string[]): SandboxCommand[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) {
    problems.push("`commands` must be a list of { argv, exit_code, stdout, stderr }");
    return undefined;
  }
  const out: SandboxCommand[] = [];
  const seen = new Set<string>();
  raw.forEach((c, i) => {
    const at = `commands[${i}]`;
    if (!isObject(c)) return problems.push(`${at} must be an object with \`argv\`, \`exit_code\`, \`stdout\`, \`stderr\``);
    const before = problems.length;
    for (const k of Object.keys(c)) if (!["argv", "exit_code", "stdout", "stderr"].includes(k)) problems.push(`${at}.${k} is not a field (argv, exit_code, stdout, stderr)`);
    const argv = c["argv"];
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === "string" && !a.includes("\0")) || !(argv[0] as string).startsWith("/")) problems.push(`${at}.argv must be the command as the promise names it: a list of strings, the program's absolute path first`);
    const code = c["exit_code"] ?? 0;
    if (!(Number.isInteger(code) && (code as number) >= 0 && (code as number) <= 255)) problems.push(`${at}.exit_code must be a whole number from 0 to 255`);
    for (const k of ["stdout", "stderr"]) {
      const v = c[k] ?? "";
      if (typeof v !== "string" || v.length > MAX_OUTPUT) problems.push(`${at}.${k} must be a string of at most ${MAX_OUTPUT} characters`);
    }
    if (problems.length > before) return;
    const key = JSON.stringify(argv);
    if (seen.has(key)) return problems.push(`${at}: ${key} is recorded twice`);
    seen.add(key);
    out.push({ argv: argv as string[], exit_code: code as number, stdout: (c["stdout"] ?? "") as string, stderr: (c["stderr"] ?? "") as string });
  });
  return out;
}

/** A base's facts with a layer's over them: `null` deletes. */
export function mergeFacts(base: SandboxFacts | undefined, over: Record<string, unknown> | undefined): SandboxFacts | undefined {
  if (over === undefined) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out as SandboxFacts;
}

/** A base's commands with a layer's over them: an answer for the same argv replaces the base's in place. */
export function mergeCommands(base: SandboxCommand[] | undefined, over: SandboxCommand[] | undefined): SandboxCommand[] | undefined {
  if (over === undefined) return base;
  const out = [...(base ?? [])];
  for (const c of over) {
    const i = out.findIndex((b) => JSON.stringify(b.argv) === JSON.stringify(c.argv));
    if (i >= 0) out[i] = c;
    else out.push(c);
  }
  return out;
}
