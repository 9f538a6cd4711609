// Quiet hours: a stakeholder's night, in its own time zone. A message that falls inside them is
// held to the instant they end, worked out as an instant (not "now plus so many hours"), so a
// night in which the clocks change ends at the right wall-clock time: 07:00 is 07:00 whether the
// night was 8, 9 or 10 hours long.
import type { QuietHours } from "../../config/types.js";

const formats = new Map<string, Intl.DateTimeFormat>();

const fields = { hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" } as const;

/** The loader rejects unknown zones; one that slips through (an older tz database) falls back to the host's rather than stop every message. */
function formatFor(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? "";
  let f = formats.get(key);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat("en-US", { timeZone, ...fields });
    } catch {
      f = new Intl.DateTimeFormat("en-US", fields);
    }
    formats.set(key, f);
  }
  return f;
}

/** The wall-clock time at instant `t` in `timeZone`, written as if it were UTC (ms, whole seconds). */
function wallClock(t: number, timeZone: string | undefined): number {
  const parts: Record<string, number> = {};
  for (const p of formatFor(timeZone).formatToParts(new Date(t))) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return Date.UTC(parts["year"]!, parts["month"]! - 1, parts["day"]!, parts["hour"]! % 24, parts["minute"]!, parts["second"]!);
}

const offsetAt = (t: number, timeZone: string | undefined): number => wallClock(t, timeZone) - (t - (((t % 1000) + 1000) % 1000));

/**
 * The instant at which the wall clock in `timeZone` reads `wall` (UTC-written ms), the first such
 * instant after `after` when the clocks fall back and it reads so twice, and the instant the
 * clocks spring forward when it is never read (a time inside the gap).
 */
function instantOf(wall: number, timeZone: string | undefined, after = -Infinity): number {
  // the offsets in force a day either side cover both sides of any change of the clocks
  const offsets = new Set([-86_400_000, 0, 86_400_000].map((d) => offsetAt(wall + d, timeZone)));
  const candidates = [...new Set([...offsets].map((o) => wall - o))].sort((a, b) => a - b);
  const exact = candidates.filter((c) => wallClock(c, timeZone) === wall);
  if (exact.length > 0) return exact.find((c) => c > after) ?? exact[exact.length - 1]!;
  // in the gap: the first whole second at which the wall clock has passed `wall`
  let lo = Math.floor(candidates[0]! / 1000) - 1;
  let hi = Math.ceil(candidates[candidates.length - 1]! / 1000) + 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallClock(mid * 1000, timeZone) >= wall) hi = mid;
    else lo = mid;
  }
  return hi * 1000;
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/**
 * When the quiet hours that instant `t` falls in end, or undefined when `t` is not inside quiet
 * hours. `to` before `from` spans midnight; `from` equal to `to` is no quiet hours at all.
 */
export function quietUntil(t: number, quiet: QuietHours, timeZone: string | undefined): number | undefined {
  const from = minutesOf(quiet.from);
  const to = minutesOf(quiet.to);
  if (from === to) return undefined;
  const wall = wallClock(t, timeZone);
  const day = Math.floor(wall / 86_400_000) * 86_400_000;
  const minute = Math.floor((wall - day) / 60_000);
  const inside = from < to ? minute >= from && minute < to : minute >= from || minute < to;
  if (!inside) return undefined;
  // the night that began this evening ends tomorrow; one that began yesterday ends today
  const endDay = from > to && minute >= from ? day + 86_400_000 : day;
  return instantOf(endDay + to * 60_000, timeZone, t);
}
