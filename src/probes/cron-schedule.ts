// A cron schedule (crontab(5)) in one normal form, so that two ways of writing one schedule
// compare equal: `00 02 * * *` is `0 2 * * *`, `*/1` and `0-59` are `*`, `mon-fri` is `1-5`, Sunday's `7` is
// `0`, a list is sorted, and `@daily` is `0 0 * * *` (cron runs the keywords as exactly those
// fields). `@reboot` is no time and stays itself. Never throws: what is not a schedule is undefined.

interface FieldSpec {
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] as const;
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

const FIELDS: readonly FieldSpec[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS },
  { min: 0, max: 7, names: DAYS },
];

/** What each keyword runs as (vixie cron and cronie alike); `@reboot` is not a time. */
export const KEYWORDS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
  "@reboot": "@reboot",
};

function value(text: string, f: FieldSpec, index: number): number | undefined {
  let n: number;
  if (/^[0-9]{1,3}$/.test(text)) n = Number(text);
  else {
    const named = f.names?.indexOf(text.toLowerCase() as never) ?? -1;
    if (named < 0) return undefined;
    n = index === 3 ? named + 1 : named;
  }
  if (n < f.min || n > f.max) return undefined;
  // Sunday is 0 and 7
  return index === 4 && n === 7 ? 0 : n;
}

function element(text: string, f: FieldSpec, index: number): string | undefined {
  const m = /^([^/]+)(?:\/([0-9]{1,3}))?$/.exec(text);
  if (!m) return undefined;
  const step = m[2] !== undefined ? Number(m[2]) : 1;
  if (step < 1) return undefined;
  const suffix = step === 1 ? "" : `/${step}`;
  if (m[1] === "*") return `*${suffix}`;
  const range = m[1]!.split("-");
  if (range.length === 1) {
    const v = value(range[0]!, f, index);
    // a single value with a step (`5/10`) is vixie's "5-max/10"
    return v === undefined ? undefined : step === 1 ? String(v) : `${v}-${f.max === 7 ? 6 : f.max}${suffix}`;
  }
  if (range.length !== 2) return undefined;
  const lo = value(range[0]!, f, index);
  const hi = index === 4 && range[1] === "7" ? 7 : value(range[1]!, f, index);
  if (lo === undefined || hi === undefined || hi < lo) return undefined;
  // the whole range is `*` (day of week: 0-6 and 0-7 alike)
  if (lo === f.min && (hi === f.max || (index === 4 && hi === 6))) return `*${suffix}`;
  return lo === hi && step === 1 ? String(lo) : `${lo}-${hi}${suffix}`;
}

function field(text: string, index: number): string | undefined {
  const f = FIELDS[index]!;
  const parts = text.split(",").map((e) => element(e, f, index));
  if (parts.some((p) => p === undefined)) return undefined;
  const unique = [...new Set(parts as string[])];
  // numbers by value, ranges after them by their text: one order for one set
  return unique.sort((a, b) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0)).join(",");
}

/** The normal form of five fields or a keyword; undefined when it is not a schedule cron runs. */
export function normaliseSchedule(schedule: string): string | undefined {
  const text = schedule.trim();
  if (text.startsWith("@")) return KEYWORDS[text.toLowerCase()];
  const fields = text.split(/\s+/);
  if (fields.length !== 5) return undefined;
  const out = fields.map((f, i) => field(f, i));
  return out.some((f) => f === undefined) ? undefined : out.join(" ");
}
