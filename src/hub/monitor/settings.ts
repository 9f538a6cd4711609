// hub.yaml's settings for the fleet monitor (docs/hub-monitor.md): which covenant.yaml routes its
// deficiencies, how often it judges, the cadence each host is held to, when drift on many hosts
// is a wave, and what its own controls are called. Checked whole when hub.yaml is read: a
// mistake is an error naming the setting, never a default silently taken instead.
import { isAbsolute, resolve } from "node:path";
import type { Severity } from "../../checker/policy.js";
import { parseDuration } from "../../config/durations.js";

/** What the hub says of one kind of fleet deficiency: the control it is filed under. */
export interface HubControl {
  id: string;
  title: string;
  severity: Severity;
  owner?: string;
  stakeholders: string[];
}

export interface MonitorSettings {
  /** the covenant.yaml whose routing, stakeholders and channels tell people (absolute); absent: the monitor judges and keeps deficiencies, and tells no one */
  notify?: string;
  intervalMs: number;
  cadence: { defaultMs?: number; groups: Record<string, number> };
  /** a host is silent after its cadence times this */
  silentGrace: number;
  massDrift: { hosts: number; share: number; windowMs: number };
  controls: { silent: HubControl; chain: HubControl; massDrift: Omit<HubControl, "id"> };
}

/** hub.yaml's top-level keys this file reads. */
export const MONITOR_KEYS = ["notify", "monitor", "cadence", "silentGrace", "massDrift", "deficiencies"] as const;

const SEVERITIES: readonly Severity[] = ["low", "medium", "high", "critical"];
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const CONTROL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const DEFAULT_CONTROLS: MonitorSettings["controls"] = {
  silent: { id: "COVENANT-HUB-SILENT", title: "Every enrolled host reports to the hub on its cadence", severity: "high", stakeholders: [] },
  chain: { id: "COVENANT-HUB-CHAIN", title: "Every host's history reaches the hub as one unbroken chain", severity: "critical", stakeholders: [] },
  massDrift: { title: "A control drifts on many hosts at once (a rollout, or an attack)", severity: "high", stakeholders: [] },
};

type Fail = (message: string) => never;

function mapping(v: unknown, field: string, fail: Fail): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) fail(`${field} must be a mapping`);
  return v as Record<string, unknown>;
}

function closed(m: Record<string, unknown>, field: string, known: readonly string[], fail: Fail): void {
  for (const k of Object.keys(m)) if (!known.includes(k)) fail(`unknown setting ${field}.${k} (known: ${known.join(", ")})`);
}

function duration(v: unknown, field: string, fail: Fail, min = 1000): number | undefined {
  if (v === undefined || v === null) return undefined;
  const ms = typeof v === "string" ? parseDuration(v) : undefined;
  if (ms === undefined) fail(`${field} ${JSON.stringify(v)} is not a duration such as 90s, 5m or 1h`);
  if (ms < min) fail(`${field} must be at least ${min / 1000}s`);
  return ms;
}

function names(v: unknown, field: string, fail: Fail): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string" || !NAME.test(s))) fail(`${field} must be a list of stakeholder names`);
  return v as string[];
}

function control(v: unknown, field: string, base: HubControl, shared: string[], fail: Fail): HubControl {
  const m = mapping(v, field, fail);
  closed(m, field, ["id", "title", "severity", "owner", "stakeholders"], fail);
  const id = m["id"] ?? base.id;
  if (typeof id !== "string" || !CONTROL_ID.test(id)) fail(`${field}.id must be a control id (letters, digits, '.', '_', ':', '-')`);
  const title = m["title"] ?? base.title;
  if (typeof title !== "string" || title.trim() === "" || title.length > 200) fail(`${field}.title must be a non-empty string of at most 200 characters`);
  const severity = m["severity"] ?? base.severity;
  if (!SEVERITIES.includes(severity as Severity)) fail(`${field}.severity must be one of ${SEVERITIES.join(", ")}`);
  const owner = m["owner"];
  if (owner !== undefined && (typeof owner !== "string" || !NAME.test(owner))) fail(`${field}.owner must be a stakeholder name`);
  const own = names(m["stakeholders"], `${field}.stakeholders`, fail);
  return { id, title, severity: severity as Severity, ...(owner !== undefined ? { owner: owner as string } : {}), stakeholders: [...new Set([...shared, ...own])] };
}

/** The monitor's settings from hub.yaml's document `d` (relative paths from `here`). */
export function readMonitorSettings(d: Record<string, unknown>, here: string, fail: Fail): MonitorSettings {
  const notify = d["notify"];
  if (notify !== undefined && (typeof notify !== "string" || notify === "")) fail("notify must be the path of a covenant.yaml");
  const monitor = mapping(d["monitor"], "monitor", fail);
  closed(monitor, "monitor", ["interval"], fail);
  const intervalMs = duration(monitor["interval"], "monitor.interval", fail, 1000) ?? 60_000;

  const cadence = mapping(d["cadence"], "cadence", fail);
  closed(cadence, "cadence", ["default", "groups"], fail);
  const defaultMs = duration(cadence["default"], "cadence.default", fail);
  // fromEntries makes own properties of every name, "__proto__" too
  const groups: Record<string, number> = Object.fromEntries(
    Object.entries(mapping(cadence["groups"], "cadence.groups", fail)).map(([g, v]) => [g, duration(v, `cadence.groups.${g}`, fail) ?? fail(`cadence.groups.${g} needs a duration`)]),
  );

  const grace = d["silentGrace"] ?? 3;
  if (typeof grace !== "number" || !Number.isFinite(grace) || grace < 1 || grace > 100) fail("silentGrace must be a number from 1 to 100 (the cadence is multiplied by it)");

  const mass = mapping(d["massDrift"], "massDrift", fail);
  closed(mass, "massDrift", ["hosts", "share", "window"], fail);
  const hosts = mass["hosts"] ?? 5;
  if (!Number.isInteger(hosts) || (hosts as number) < 2 || (hosts as number) > 1_000_000) fail("massDrift.hosts must be a whole number of at least 2");
  const share = mass["share"] ?? 0.5;
  if (typeof share !== "number" || !(share > 0 && share <= 1)) fail("massDrift.share must be a fraction above 0 and at most 1 (0.5: half the hosts that run the control)");
  const windowMs = duration(mass["window"], "massDrift.window", fail, 60_000) ?? 15 * 60_000;

  const defs = mapping(d["deficiencies"], "deficiencies", fail);
  closed(defs, "deficiencies", ["stakeholders", "silent", "chain", "massDrift"], fail);
  const shared = names(defs["stakeholders"], "deficiencies.stakeholders", fail);
  const massControl = control(defs["massDrift"], "deficiencies.massDrift", { id: "mass-drift", ...DEFAULT_CONTROLS.massDrift }, shared, fail);
  if ((mapping(defs["massDrift"], "deficiencies.massDrift", fail) as { id?: unknown }).id !== undefined) fail("deficiencies.massDrift.id cannot be set: a wave is filed under the control that drifted");
  const { id: _unused, ...massDrift } = massControl;
  return {
    ...(typeof notify === "string" ? { notify: isAbsolute(notify) ? notify : resolve(here, notify) } : {}),
    intervalMs,
    cadence: { ...(defaultMs !== undefined ? { defaultMs } : {}), groups },
    silentGrace: grace,
    massDrift: { hosts: hosts as number, share, windowMs },
    controls: {
      silent: control(defs["silent"], "deficiencies.silent", DEFAULT_CONTROLS.silent, shared, fail),
      chain: control(defs["chain"], "deficiencies.chain", DEFAULT_CONTROLS.chain, shared, fail),
      massDrift,
    },
  };
}
