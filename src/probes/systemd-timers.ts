// systemd timers as systemd would load them, read from the unit files (systemd need not be
// running: the machines this is built on have no systemd as PID 1, so this probe is tested on
// fixtures). A unit's file is the first of its name in /etc, /run, /usr/local/lib, /usr/lib and
// /lib `systemd/system`; its drop-ins `<unit>.d/*.conf` apply in name order, a name in an
// earlier directory hiding the same name later. A file that is empty or a link to /dev/null
// masks the unit. A timer runs when a `.wants` (or `.requires`) directory links it.
import { readdirSync } from "node:fs";
import { listConfFiles, type ConfFileText } from "./conf-dirs.js";
import type { Job } from "./crontab.js";
import type { Skip } from "./result.js";

export const unitDirs = ["/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"] as const;

/** The settings that make a timer elapse (systemd.timer(5)); an empty assignment to any resets them all. */
export const TRIGGERS = ["OnCalendar", "OnActiveSec", "OnBootSec", "OnStartupSec", "OnUnitActiveSec", "OnUnitInactiveSec"] as const;

export interface UnitSetting {
  section: string;
  key: string;
  value: string;
  line: number;
}

/** A unit file's settings in order (systemd.syntax(7)): `#`/`;` comments, `\` continuations. Never throws. */
export function parseUnit(text: string): UnitSetting[] {
  const out: UnitSetting[] = [];
  let section = "";
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let t = lines[i]!.replace(/\r$/, "").trim();
    while (t.endsWith("\\") && i + 1 < lines.length) {
      const next = lines[++i]!.replace(/\r$/, "").trim();
      // a comment line inside a continuation is left out of it
      t = next.startsWith("#") || next.startsWith(";") ? t : `${t.slice(0, -1).trimEnd()} ${next}`;
    }
    if (t === "" || t.startsWith("#") || t.startsWith(";")) continue;
    const head = /^\[([^\]]+)\]$/.exec(t);
    if (head) {
      section = head[1]!;
      continue;
    }
    const eq = t.indexOf("=");
    if (eq <= 0) continue;
    out.push({ section, key: t.slice(0, eq).trim(), value: t.slice(eq + 1).trim(), line });
  }
  return out;
}

/** A timer's triggers in one form: `Key=value` with its spaces collapsed, sorted, joined by `; `. */
export function normaliseTriggers(triggers: readonly string[]): string {
  return [...triggers].map((t) => t.replace(/\s*=\s*/, "=").replace(/\s+/g, " ").trim()).sort().join("; ");
}

interface LoadedUnit {
  file: ConfFileText;
  settings: UnitSetting[];
  masked: boolean;
}

/** `x@main.timer`: an instance of the template `x@.timer` */
const INSTANCE = /^(.+)@([^@/]+)\.timer$/;

/** The unit's file, or an instance's template's (`x@main.service` from `x@.service`), with its specifiers `%i`/`%I` filled in. */
function loadUnit(name: string, hostPath: (p: string) => string, skipped: Skip[]): LoadedUnit | undefined {
  const own = loadUnitFile(name, hostPath, skipped);
  const inst = /^(.+)@([^@/]+)(\.[a-z]+)$/.exec(name);
  if (own || !inst) return own;
  const template = loadUnitFile(`${inst[1]}@${inst[3]}`, hostPath, skipped);
  if (!template) return undefined;
  const fill = (v: string) => v.replace(/%[iI]/g, inst[2]!);
  return { ...template, settings: template.settings.map((s) => ({ ...s, value: fill(s.value) })) };
}

function loadUnitFile(name: string, hostPath: (p: string) => string, skipped: Skip[]): LoadedUnit | undefined {
  const main = listConfFiles(unitDirs, hostPath, (n) => n === name);
  skipped.push(...main.skipped);
  const file = main.applied[0];
  if (!file) return undefined;
  if (file.text.trim() === "") return { file, settings: [], masked: true };
  const dropIns = listConfFiles(
    unitDirs.map((d) => `${d}/${name}.d`),
    hostPath,
    (n) => n.endsWith(".conf"),
  );
  skipped.push(...dropIns.skipped);
  return { file, settings: [file, ...dropIns.applied].flatMap((f) => parseUnit(f.text)), masked: false };
}

function wantedBy(hostPath: (p: string) => string): Set<string> {
  const out = new Set<string>();
  for (const dir of unitDirs) {
    let entries: string[];
    try {
      entries = readdirSync(hostPath(dir));
    } catch {
      continue;
    }
    for (const e of entries.filter((n) => n.endsWith(".wants") || n.endsWith(".requires"))) {
      try {
        for (const n of readdirSync(hostPath(`${dir}/${e}`))) out.add(n);
      } catch {
        // not a directory
      }
    }
  }
  return out;
}

/** Every timer unit defined (masked ones left out), with the service it starts and how it elapses. */
export function read(hostPath: (p: string) => string): { jobs: Job[]; skipped: Skip[] } {
  const skipped: Skip[] = [];
  const enabled = wantedBy(hostPath);
  // a template (`x@.timer`) is no job itself: each instance enabled by a link (`x@main.timer`) is
  const defined = listConfFiles(unitDirs, hostPath, (n) => n.endsWith(".timer")).applied.map((f) => f.name);
  const instances = [...enabled].filter((n) => INSTANCE.test(n) && defined.includes(n.replace(INSTANCE, "$1@.timer")));
  const names = [...new Set([...defined.filter((n) => !n.endsWith("@.timer")), ...instances])].sort();
  const jobs: Job[] = [];
  for (const name of names) {
    const timer = loadUnit(name, hostPath, skipped);
    if (!timer || timer.masked) continue;
    let triggers: string[] = [];
    let unit = name.replace(/\.timer$/, ".service");
    for (const s of timer.settings.filter((x) => x.section === "Timer")) {
      if ((TRIGGERS as readonly string[]).includes(s.key)) triggers = s.value === "" ? [] : [...triggers, `${s.key}=${s.value}`];
      else if (s.key === "Unit" && s.value !== "") unit = s.value;
    }
    const service = loadUnit(unit, hostPath, skipped);
    let exec: string[] = [];
    let user = "root";
    for (const s of service?.settings.filter((x) => x.section === "Service") ?? []) {
      if (s.key === "ExecStart") exec = s.value === "" ? [] : [...exec, s.value];
      else if (s.key === "User" && s.value !== "") user = s.value;
    }
    // the program, without systemd's prefixes (`-`: failure ignored, `@`, `+`, `!`, `:`)
    const command = (exec[0] ?? "").replace(/^[-@+!:]+/, "");
    const written = normaliseTriggers(triggers);
    jobs.push({ source: "timer", path: timer.file.path, name, command, user, schedule: written, written, enabled: enabled.has(name) });
  }
  return { jobs, skipped };
}
