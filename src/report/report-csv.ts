// The evidence report as CSV for spreadsheets: one file per table (controls, episodes, gaps, and
// the sample when one was taken), so each opens as one sheet with one header row. RFC 4180: every
// field quoted when it holds a comma, a quote, CR or LF (quotes doubled), CRLF between records.
// A cell starting with = + - @ (or a tab or CR; or those after leading blanks, which some
// importers trim; or their full-width forms, which some spreadsheets read as the ASCII ones) is
// taken by spreadsheets as a formula: it is prefixed with ' so that text from the host (a reason,
// a path) can never run as one. A field holding `;` is quoted too: spreadsheets in locales whose
// list separator is `;` split an unquoted field there, and the part after it would start a cell.
import type { EvidenceReport } from "./report-model.js";

type Cell = string | number | boolean | null | undefined;

export function csvCell(v: Cell): string {
  let text = v === null || v === undefined ? "" : String(v);
  // numbers are the report's own; text may come from the host
  if (typeof v === "string" && /^(?:[\t\r]|[ \n\u3000]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/.test(text)) text = `'${text}`;
  return /[",;\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvOf(header: readonly string[], rows: readonly Cell[][]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

const share = (v: number | null) => (v === null ? "" : v.toFixed(4));

/** The tables, by file name. */
export function renderReportCsv(r: EvidenceReport): Map<string, string> {
  const out = new Map<string, string>();
  out.set(
    "controls.csv",
    csvOf(
      ["control", "title", "owner", "severity", "key", "refs", "evaluations", "expected_every_ms", "expected_source", "expected_count", "kept", "kept_share", "gaps", "episodes", "open_at_end", "repairs", "integrity_approved", "integrity_unapproved", "waivers_in_force", "waivers_expired", "remediation_median_ms", "remediation_worst_ms"],
      r.controls.map((c) => {
        const o = c.operation;
        return [c.id, c.design.title, c.design.owner, c.design.severity, c.design.key, c.design.refs.join(" "), o.evaluations, o.expected.everyMs, o.expected.source, o.expected.count, o.kept, share(o.keptShare), o.gaps.length, o.listing.episodes.deficiencies, o.listing.episodes.openAtEnd, o.listing.repairs.total, o.integrity.approved.length, o.integrity.unapproved.length, o.waivers.filter((w) => w.status === "in-force").length, o.waivers.filter((w) => w.status === "expired").length, o.remediation.medianMs, o.remediation.worstMs];
      }),
    ),
  );
  out.set(
    "episodes.csv",
    csvOf(
      ["control", "id", "promise", "outcome", "notice", "opened", "opened_record", "resolved", "resolved_record", "resolved_by", "duration_ms", "repaired", "reason", "told", "acknowledged_by", "acknowledged_at", "ack_reason"],
      r.controls.flatMap((c) =>
        c.operation.episodes.map((e) => [c.id, e.id, e.promise, e.outcome, e.notice, e.opened, e.openedRecord, e.resolved, e.resolvedRecord, e.resolvedBy, e.durationMs, e.repaired, e.reason, e.told.map((t) => `${t.at} ${t.recipient} (${t.status})`).join("; "), e.ack?.by, e.ack?.at, e.ack?.reason]),
      ),
    ),
  );
  out.set("gaps.csv", csvOf(["control", "from", "to", "duration_ms", "text"], r.controls.flatMap((c) => c.operation.gaps.map((g) => [c.id, g.from, g.to, g.durationMs, g.text]))));
  if (r.sample) {
    out.set(
      "sample.csv",
      csvOf(
        ["control", "run", "kind", "started", "finished", "policy", "summary_record", "roster", "verdict", "proven", "why", "promise", "outcome", "record", "since", "reason"],
        r.sample.controls.flatMap((c) => c.picks.flatMap((p) => (p.promises.length > 0 ? p.promises : [undefined]).map((x) => [c.control, p.run, p.kind, p.started, p.finished, p.policy.hash, p.summaryRecord, p.roster, p.verdict, p.proven, p.why, x?.key, x?.outcome, x?.record, x?.since, x?.reason]))),
      ),
    );
  }
  return out;
}
