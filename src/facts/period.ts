// A reporting period: whole days in the policy calendar's time zone, both ends included, as
// waivers' dates are read. `--from 2026-01-01 --to 2026-03-31` in Europe/Paris is the instants
// from 2026-01-01T00:00 Paris time up to, not including, 2026-04-01T00:00 Paris time.
import { localTime } from "./calendar.js";

export interface Period {
  /** the dates as given, YYYY-MM-DD */
  from: string;
  to: string;
  /** the time zone the days are read in; undefined: the host's */
  timeZone?: string;
  /** the first instant of `from` and the first instant after `to` (ms since the epoch) */
  startMs: number;
  endMs: number;
}

export class PeriodError extends Error {}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseDate(text: string, what: string): [number, number, number] {
  const m = DATE.exec(text);
  if (!m) throw new PeriodError(`${what} must be a date written YYYY-MM-DD, not ${JSON.stringify(text.slice(0, 40))}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) throw new PeriodError(`${what} ${text} is not a date on the calendar`);
  return [y, mo, d];
}

/**
 * The instant at which the local date y-m-d begins in `timeZone`: midnight there, or the first
 * instant of that day when a clock change skips midnight. Found by correcting a UTC guess by the
 * zone's offset twice (offsets change at most once around a given midnight).
 */
export function startOfDay(y: number, m: number, d: number, timeZone?: string): number {
  const wanted = Date.UTC(y, m - 1, d);
  let guess = wanted;
  for (let i = 0; i < 3; i++) {
    const t = localTime(new Date(guess), timeZone);
    const shown = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute);
    const next = guess + (wanted - shown);
    if (next === guess) break;
    guess = next;
  }
  // a day that begins later than midnight (a spring-forward at 00:00): its first minute
  const t = localTime(new Date(guess), timeZone);
  if (Date.UTC(t.year, t.month - 1, t.day) < wanted) guess += 60 * 60_000;
  return guess;
}

/** The period from `from` to `to`, both whole days included, in `timeZone` (the host's when undefined). */
export function periodOf(from: string, to: string, timeZone?: string): Period {
  if (timeZone !== undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone });
    } catch {
      throw new PeriodError(`${JSON.stringify(timeZone.slice(0, 60))} is not a time zone this system knows`);
    }
  }
  const [fy, fm, fd] = parseDate(from, "--from");
  const [ty, tm, td] = parseDate(to, "--to");
  if (to < from) throw new PeriodError(`--to ${to} is before --from ${from}`);
  const after = new Date(Date.UTC(ty, tm - 1, td + 1));
  return { from, to, ...(timeZone !== undefined ? { timeZone } : {}), startMs: startOfDay(fy, fm, fd, timeZone), endMs: startOfDay(after.getUTCFullYear(), after.getUTCMonth() + 1, after.getUTCDate(), timeZone) };
}

/** Whether an ISO 8601 time falls in the period. */
export function inPeriod(p: Period, iso: string): boolean {
  const t = Date.parse(iso);
  return t >= p.startMs && t < p.endMs;
}
