// Business-calendar arithmetic behind the date facts: what day it is in the calendar's time
// zone, and where that day sits among the month's business days.
import { weekdays } from "./catalog.js";

export interface CalendarSpec {
  holidays: string[];
  weekend: string[];
  timezone?: string;
}

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: (typeof weekdays)[number];
}

/** The wall-clock date and time of `instant` in `timeZone` (the host's when undefined). */
export function localTime(instant: Date, timeZone?: string): LocalTime {
  // the host's own zone needs no Intl (whose time-zone data costs ~7 MB and ~10 ms to load)
  if (timeZone === undefined) {
    return {
      year: instant.getFullYear(),
      month: instant.getMonth() + 1,
      day: instant.getDate(),
      hour: instant.getHours(),
      minute: instant.getMinutes(),
      weekday: weekdays[(instant.getDay() + 6) % 7]!,
    };
  }
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    hourCycle: "h23",
    weekday: "long",
  }).formatToParts(instant);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return {
    year: Number(get("year")),
    month: Number(get("month")),
    day: Number(get("day")),
    hour: Number(get("hour")),
    minute: Number(get("minute")),
    weekday: get("weekday").toLowerCase() as LocalTime["weekday"],
  };
}

function isoDate(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

function weekdayOf(y: number, m: number, d: number): string {
  // 1970-01-01 was a Thursday; getUTCDay: 0 = Sunday
  return weekdays[(new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7]!;
}

export function isBusinessDay(y: number, m: number, d: number, cal: CalendarSpec): boolean {
  return !cal.weekend.includes(weekdayOf(y, m, d)) && !cal.holidays.some((h) => h.slice(0, 10) === isoDate(y, m, d));
}

export interface BusinessPosition {
  isBusinessDay: boolean;
  /** business days so far this month, today included */
  businessDayOfMonth: number;
  /** business days after today until the month ends */
  businessDaysLeftInMonth: number;
}

export function businessPosition(y: number, m: number, d: number, cal: CalendarSpec): BusinessPosition {
  const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
  let before = 0;
  let after = 0;
  for (let k = 1; k <= daysInMonth; k++) {
    if (!isBusinessDay(y, m, k, cal)) continue;
    if (k <= d) before++;
    else after++;
  }
  return { isBusinessDay: isBusinessDay(y, m, d, cal), businessDayOfMonth: before, businessDaysLeftInMonth: after };
}

export { isoDate };
