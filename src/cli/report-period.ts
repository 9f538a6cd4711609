// The reporting period `covenant evidence` (and `covenant report`) read their dates in: whole days
// in a time zone, both ends included (facts/period.ts). The zone is `--tz`, else the calendar's
// `timezone` in the newest policy version the store holds (its stored text checked again, so a
// zone is never read from a policy that does not check), else the host's.
import { checkFiles } from "../checker/check.js";
import { periodOf, type Period } from "../facts/period.js";
import { parseSource } from "../parser/parse.js";
import type { StateStore } from "../store/store.js";

export interface ReportPeriod {
  period: Period;
  /** the zone by name (the host's resolved when none was given or found) */
  timeZone: string;
  zoneFrom: "--tz" | "policy calendar" | "host";
}

/** The calendar's zone in the newest stored policy version, when it checks and names one. */
export function storedPolicyZone(store: StateStore): string | undefined {
  const newest = store.policyVersions().at(-1);
  if (!newest) return undefined;
  const version = store.policyVersion(newest.hash);
  if (!version) return undefined;
  const checked = checkFiles(version.files.map((f) => parseSource(f.path, f.text)));
  if (!checked.policy || checked.diagnostics.some((d) => d.severity === "error")) return undefined;
  return checked.policy.calendar.timezone;
}

/** The period from `from` to `to`; PeriodError (facts/period.ts) when a date or the zone is wrong. */
export function reportPeriod(store: StateStore, from: string, to: string, tz?: string): ReportPeriod {
  if (tz !== undefined) return { period: periodOf(from, to, tz), timeZone: tz, zoneFrom: "--tz" };
  const zone = storedPolicyZone(store);
  if (zone !== undefined) return { period: periodOf(from, to, zone), timeZone: zone, zoneFrom: "policy calendar" };
  return { period: periodOf(from, to), timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone, zoneFrom: "host" };
}
