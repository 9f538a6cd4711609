// `covenant observe shadow [user]`: each account's password state and aging, from /etc/shadow,
// as `passwd -S` and `chage -l` show them. The probe keeps no hash, so none can be printed.
import * as shadow from "../../probes/shadow.js";
import { escapeText } from "../escape.js";
import type { Io } from "../io.js";
import { renderTable } from "../table.js";
import { report, roots, type ObserveOptions } from "./observe-report.js";

export { UsageError } from "./observe-report.js";

function passwordText(pw: shadow.PasswordState): string {
  if (pw.status === "locked") return pw.scheme ? `locked (${pw.scheme})` : "locked";
  return pw.status === "hashed" ? `hashed (${pw.scheme})` : "empty";
}

function day(days: number | undefined): string {
  return days === undefined ? "-" : new Date(days * 86_400_000).toISOString().slice(0, 10);
}

const n = (v: number | undefined) => (v === undefined ? "-" : String(v));

export function observeShadow(user: string | undefined, opts: ObserveOptions, io: Io): number {
  const result = shadow.read(roots(opts));
  const today = shadow.daysSinceEpoch(new Date());
  const pick = (v: shadow.ShadowEntry[]) => v.filter((e) => user === undefined || e.name === user);
  return report(
    result,
    io,
    opts,
    (v) => pick(v).map((e) => ({ ...e, expired: shadow.hasExpired(e.expires, today) })),
    (v) => {
      const rows = pick(v);
      if (user !== undefined && rows.length === 0) return `no account \`${escapeText(user)}\` in ${escapeText(opts.etcRoot)}/shadow`;
      return renderTable(
        ["USER", "PASSWORD", "CHANGED", "MIN", "MAX", "WARN", "INACTIVE", "EXPIRES"],
        rows.map((e) => [e.name, passwordText(e.password), day(e.lastChange), n(e.minDays), n(e.maxDays), n(e.warnDays), n(e.inactiveDays), e.expires === undefined ? "never" : `${day(e.expires)}${shadow.hasExpired(e.expires, today) ? " (expired)" : ""}`]),
      );
    },
  );
}
