// The values of host facts, read now. Names and types are in catalog.ts.
import { readFileSync } from "node:fs";
import { arch, hostname, networkInterfaces, release } from "node:os";
import { join } from "node:path";
import { businessPosition, isoDate, localTime, type CalendarSpec } from "./calendar.js";

export type FactValue = string | number | boolean | string[];

export interface FactOptions {
  now?: Date;
  calendar?: CalendarSpec;
  etcRoot?: string;
}

/** `/etc/os-release` as key/value pairs (shell-style quoting removed). */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    const quoted = /^"(.*)"$/.exec(m[2]!);
    // within double quotes, os-release(5) escapes `"`, `\`, `$` and the backquote with a backslash
    out.set(m[1]!, quoted ? quoted[1]!.replace(/\\([\\"$`])/g, "$1") : m[2]!.replace(/^'(.*)'$/, "$1"));
  }
  return out;
}

/**
 * The family a distribution belongs to, from its own `ID` and then `ID_LIKE` (in its order: the
 * closest first), so that a policy selects Debian- or RHEL-style files and package names once
 * rather than by every derivative's id.
 */
export function osFamily(osRelease: ReadonlyMap<string, string>): string | undefined {
  const id = osRelease.get("ID")?.toLowerCase();
  const like = (osRelease.get("ID_LIKE") ?? "").toLowerCase().split(/\s+/).filter((x) => x !== "");
  for (const name of [id, ...like]) {
    if (name === "debian" || name === "ubuntu") return "debian";
    if (name === "rhel" || name === "centos" || name === "fedora") return "rhel";
    if (name === "suse" || name === "opensuse" || name?.startsWith("sles") || name?.startsWith("opensuse")) return "suse";
  }
  return id;
}

const machineArch: Record<string, string> = { x64: "x86_64", arm64: "aarch64", ia32: "i686", arm: "armv7l", ppc64: "ppc64le", s390x: "s390x" };

export function readFacts(opts: FactOptions = {}): Map<string, FactValue> {
  const facts = new Map<string, FactValue>();
  const fqdn = hostname();
  facts.set("hostname", fqdn.split(".")[0]!);
  facts.set("fqdn", fqdn);
  facts.set("os", "linux");
  let osRelease = new Map<string, string>();
  try {
    osRelease = parseOsRelease(readFileSync(join(opts.etcRoot ?? "/etc", "os-release"), "utf8"));
  } catch {
    // facts that need it are left out rather than guessed
  }
  if (osRelease.has("ID")) facts.set("os_id", osRelease.get("ID")!);
  const family = osFamily(osRelease);
  if (family !== undefined) facts.set("os_family", family);
  if (osRelease.has("VERSION_ID")) facts.set("os_version", osRelease.get("VERSION_ID")!);
  facts.set("arch", machineArch[arch()] ?? arch());
  facts.set("kernel", release());
  const ips: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) ips.push(a.address);
  facts.set("ip", ips);
  const cal = opts.calendar ?? { holidays: [], weekend: ["saturday", "sunday"] };
  const t = localTime(opts.now ?? new Date(), cal.timezone);
  facts.set("year", t.year);
  facts.set("quarter", Math.floor((t.month - 1) / 3) + 1);
  facts.set("month", t.month);
  facts.set("day_of_month", t.day);
  facts.set("weekday", t.weekday);
  facts.set("hour", t.hour);
  facts.set("minute", t.minute);
  facts.set("date", isoDate(t.year, t.month, t.day));
  const pos = businessPosition(t.year, t.month, t.day, cal);
  facts.set("is_business_day", pos.isBusinessDay);
  facts.set("business_day_of_month", pos.businessDayOfMonth);
  facts.set("business_days_left_in_month", pos.businessDaysLeftInMonth);
  return facts;
}
