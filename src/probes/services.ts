// systemd units through `systemctl show` (an argv, never a shell). Where systemd is not
// running, the answer is "cannot know", with the reason: never a false "stopped". In a sandbox,
// where systemd's answers are recorded (ProbeRoots.answers), they are read instead.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fail, ok, readAnswer, type ProbeResult, type ProbeRoots } from "./result.js";

export interface UnitState {
  unit: string;
  loadState: string;
  /** active, inactive, failed, activating, deactivating, reloading */
  activeState: string;
  /** running, dead, exited, ... */
  subState: string;
  /** enabled, disabled, static, masked, ... (empty for transient units) */
  unitFileState: string;
  mainPid: number;
}

export interface ServiceOptions {
  /** the program to run; `systemctl` from PATH by default (tests put a stand-in first on PATH) */
  systemctl?: string;
  /** systemd's marker directory: it exists exactly when systemd is PID 1 (default: `systemd/system` under roots.run) */
  runDir?: string;
  timeoutMs?: number;
}

export function unitName(name: string): string {
  return name.includes(".") ? name : `${name}.service`;
}

/** Parses `systemctl show` output (`Key=value` lines). */
export function parse(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

const properties = ["LoadState", "ActiveState", "SubState", "UnitFileState", "MainPID"];

/**
 * What systemd says of `unit` in a sandbox's recorded answers (`<answers>/units.json`, written by
 * src/sandbox/host-write.ts): its properties, or those of a unit systemd does not know; undefined
 * when there is no such file (the real systemctl is asked then).
 */
function recordedUnit(answers: string, unit: string): ProbeResult<Map<string, string>> | undefined {
  const path = join(answers, "units.json");
  const read = readAnswer(path);
  if (!read.ok) return !read.result.ok && read.result.error.code === "not-found" ? undefined : read.result;
  let units: unknown;
  try {
    units = (JSON.parse(read.text) as { units?: unknown }).units;
  } catch {
    // JSON.parse's message would quote the file: whatever it is, none of it is shown
    return fail("malformed", `${path} is not valid JSON`, path);
  }
  if (typeof units !== "object" || units === null) return fail("malformed", `${path} has no \`units\` object`, path);
  const recorded = Object.hasOwn(units, unit) ? (units as Record<string, unknown>)[unit] : undefined;
  // what systemctl show says of a unit it does not know
  if (recorded === undefined) return ok(new Map([["LoadState", "not-found"], ["ActiveState", "inactive"], ["SubState", "dead"], ["UnitFileState", ""], ["MainPID", "0"]]));
  if (typeof recorded !== "object" || recorded === null) return fail("malformed", `${path}: the entry of ${unit} is not an object`, path);
  return ok(new Map(Object.entries(recorded).map(([k, v]) => [k, String(v)])));
}

export function read(name: string, roots: Pick<ProbeRoots, "proc" | "run" | "answers">, opts: ServiceOptions = {}): ProbeResult<UnitState> {
  const unit = unitName(name);
  // a leading `-` would make systemctl read the name as an option (`-H host` runs ssh)
  if (!/^[A-Za-z0-9:_.@\\-]+$/.test(unit) || unit.startsWith("-")) return fail("malformed", `\`${name}\` is not a unit name`);
  const recorded = roots.answers !== undefined ? recordedUnit(roots.answers, unit) : undefined;
  if (recorded !== undefined) return recorded.ok ? unitState(unit, recorded.value, `the recorded answer for ${unit}`) : recorded;
  if (!existsSync(opts.runDir ?? join(roots.run ?? "/run", "systemd", "system"))) {
    let pid1 = "unknown";
    try {
      pid1 = readFileSync(join(roots.proc, "1", "comm"), "utf8").trim();
    } catch {
      // the reason below stands without the name
    }
    return fail("unavailable", `systemd is not running on this host (PID 1 is \`${pid1}\`): the state of ${unit} cannot be known`);
  }
  let text: string;
  try {
    text = execFileSync(opts.systemctl ?? "systemctl", ["show", `--property=${properties.join(",")}`, "--no-pager", "--", unit], {
      encoding: "utf8",
      timeout: opts.timeoutMs ?? 10_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; signal?: string };
    if (e.code === "ENOENT") return fail("unavailable", "systemctl is not installed");
    if (e.signal === "SIGTERM") return fail("io", `systemctl show ${unit} did not answer within ${(opts.timeoutMs ?? 10_000) / 1000}s`);
    return fail("io", `systemctl show ${unit} failed: ${(e.stderr ?? e.message).trim().split("\n")[0]}`);
  }
  return unitState(unit, parse(text), `systemctl show ${unit}`);
}

/** The unit's state from its properties, as `systemctl show` gives them (`source` says who did). */
function unitState(unit: string, p: Map<string, string>, source: string): ProbeResult<UnitState> {
  const missing = properties.filter((k) => !p.has(k));
  if (missing.length > 0) return fail("malformed", `${source} did not report ${missing.join(", ")}`);
  if (p.get("LoadState") === "not-found") return fail("not-found", `${unit} is not installed on this host`);
  if (!/^\d+$/.test(p.get("MainPID")!)) return fail("malformed", `${source} reported MainPID \`${p.get("MainPID")}\``);
  const mainPid = Number(p.get("MainPID"));
  return ok({
    unit,
    loadState: p.get("LoadState")!,
    activeState: p.get("ActiveState")!,
    subState: p.get("SubState")!,
    unitFileState: p.get("UnitFileState")!,
    mainPid,
  });
}
