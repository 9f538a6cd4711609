// Host facts that contexts can test. Their values are read on each run; their names and
// types are known here so that the checker can validate contexts without touching the host.

export const weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;

export type FactType =
  | { kind: "string" }
  | { kind: "integer"; min: number; max: number }
  | { kind: "boolean" }
  | { kind: "date" }
  | { kind: "enum"; values: readonly string[] }
  /** the host's own IP addresses; `ip in "10.0.0.0/8"` holds when any of them is inside */
  | { kind: "addresses" };

export interface FactSpec {
  name: string;
  type: FactType;
  description: string;
}

export const factCatalogue: FactSpec[] = [
  { name: "hostname", type: { kind: "string" }, description: "Short host name (before the first dot)." },
  { name: "fqdn", type: { kind: "string" }, description: "Fully qualified host name." },
  { name: "os", type: { kind: "string" }, description: "Kernel family, such as `linux`." },
  { name: "os_id", type: { kind: "string" }, description: "Distribution id from /etc/os-release, such as `debian`." },
  {
    name: "os_family",
    type: { kind: "string" },
    description:
      "Distribution family: `debian` (Debian, Ubuntu and others whose os-release `ID` or `ID_LIKE` names debian or ubuntu), `rhel` (RHEL, CentOS, Rocky, AlmaLinux, Oracle Linux, Fedora: `ID` or `ID_LIKE` names rhel, centos or fedora), `suse`, else the `ID` itself.",
  },
  { name: "os_version", type: { kind: "string" }, description: "Distribution version id from /etc/os-release, such as `12`." },
  { name: "arch", type: { kind: "string" }, description: "Machine architecture, such as `x86_64`." },
  { name: "kernel", type: { kind: "string" }, description: "Kernel release, such as `6.1.0-18-amd64`." },
  { name: "ip", type: { kind: "addresses" }, description: "The host's IP addresses; test with `ip in \"10.0.0.0/8\"`." },
  { name: "year", type: { kind: "integer", min: 1970, max: 9999 }, description: "Current year, in the calendar's time zone." },
  { name: "quarter", type: { kind: "integer", min: 1, max: 4 }, description: "Current quarter (1-4)." },
  { name: "month", type: { kind: "integer", min: 1, max: 12 }, description: "Current month (1-12)." },
  { name: "day_of_month", type: { kind: "integer", min: 1, max: 31 }, description: "Current day of the month (1-31)." },
  { name: "weekday", type: { kind: "enum", values: weekdays }, description: "Current day of the week: `monday` … `sunday`." },
  { name: "hour", type: { kind: "integer", min: 0, max: 23 }, description: "Current hour (0-23)." },
  { name: "minute", type: { kind: "integer", min: 0, max: 59 }, description: "Current minute (0-59)." },
  { name: "date", type: { kind: "date" }, description: "Current date; compare with date literals such as `2026-12-31`." },
  { name: "is_business_day", type: { kind: "boolean" }, description: "Today is neither a weekend day nor a holiday of the calendar." },
  {
    name: "business_day_of_month",
    type: { kind: "integer", min: 0, max: 31 },
    description: "Number of business days so far this month, today included (0 before the first business day).",
  },
  {
    name: "business_days_left_in_month",
    type: { kind: "integer", min: 0, max: 30 },
    description: "Business days after today until the end of the month.",
  },
];

export const facts: ReadonlyMap<string, FactSpec> = new Map(factCatalogue.map((f) => [f.name, f]));
