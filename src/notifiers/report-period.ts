// Which digest a message goes into: the period (day, week from Monday, month) holding the time
// it was planned, on the stakeholder's calendar (its time zone, else the host's). The period is
// named by the date it starts, so every file name sorts in time order: security-2026-12-01.md.
import type { ReportChannel } from "../config/types.js";

interface CivilDate {
  year: number;
  month: number;
  day: number;
  /** 0 = Monday … 6 = Sunday */
  weekday: number;
}

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** The calendar date at `at` in `timeZone` (undefined: the host's); a zone Intl does not know throws a RangeError. */
function civilDate(at: Date, timeZone: string | undefined): CivilDate {
  const format = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "numeric", day: "numeric", weekday: "short" });
  const parts = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
  return { year: Number(parts["year"]), month: Number(parts["month"]), day: Number(parts["day"]), weekday: WEEKDAYS.indexOf(parts["weekday"] ?? "") };
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** "2026-12-05": the first day of the period that holds `at`, on the calendar of `timeZone`. */
export function periodStart(at: Date, period: ReportChannel["period"], timeZone: string | undefined): string {
  const d = civilDate(at, timeZone);
  if (period === "month") return `${pad(d.year, 4)}-${pad(d.month)}-01`;
  const back = period === "week" ? d.weekday : 0;
  // civil-date arithmetic in UTC, where every day has 24 hours
  const start = new Date(Date.UTC(d.year, d.month - 1, d.day - back));
  return `${pad(start.getUTCFullYear(), 4)}-${pad(start.getUTCMonth() + 1)}-${pad(start.getUTCDate())}`;
}
