// The reporting period of `covenant report`: whole days, both ends included, read in the time zone
// given with --tz, else in the calendar time zone of the latest policy version the store holds
// (its stored text checked again), else in the host's own.
import { periodOf, type Period } from "../facts/period.js";
import { checkStoredPolicy } from "../report/stored-policy.js";
import type { StateStore } from "../store/store.js";

/** The time zone of the latest stored policy's calendar; undefined when it sets none (or no version checks). */
export function storedCalendarZone(store: StateStore, today: string): string | undefined {
  const versions = store.policyVersions();
  const latest = versions[versions.length - 1];
  if (!latest) return undefined;
  const stored = store.policyVersion(latest.hash);
  return stored ? checkStoredPolicy(latest.hash, stored.files, today).policy?.calendar.timezone : undefined;
}

/** The period from `from` to `to`; PeriodError (facts/period.ts) for a bad date or zone. */
export function reportPeriod(store: StateStore, from: string, to: string, tz?: string, today: string = new Date().toISOString().slice(0, 10)): Period {
  return periodOf(from, to, tz ?? storedCalendarZone(store, today));
}
