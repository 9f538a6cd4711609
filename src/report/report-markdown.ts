// The evidence report as Markdown: a document to read or paste into a ticket. Text from the host
// (titles, reasons, paths) is made inert: control characters escaped, and the characters that
// would make it Markdown (a table's |, emphasis, links, HTML) backslash-escaped.
import { escapeKeepingTabs, escapeText } from "../text/escape.js";
import type { ControlReport, EvidenceReport, RemediationFigures } from "./report-model.js";

/** Host text as literal Markdown on one line. */
export function md(text: string): string {
  return escapeText(text)
    .replace(/[\\`*_[\]{}()<>#+!|~]/g, (c) => `\\${c}`)
    .replace(/\r?\n/g, " ");
}

const pct = (v: number | null) => (v === null ? "n/a" : `${(v * 100).toFixed(1)}%`);

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "n/a";
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}m`;
  const h = s / 3600;
  return h < 48 ? `${h.toFixed(1)}h` : `${(h / 24).toFixed(1)}d`;
}

const remediation = (r: RemediationFigures) => (r.resolved === 0 ? "no episode resolved" : `median ${duration(r.medianMs)}, worst ${duration(r.worstMs)} over ${r.resolved} resolved`);

function table(header: string[], rows: string[][]): string[] {
  if (rows.length === 0) return ["(none)", ""];
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`), ""];
}

export function renderReportMarkdown(r: EvidenceReport): string {
  const s = r.summary;
  const lines: string[] = [
    `# Evidence report: ${md(r.host)}, ${r.period.from} to ${r.period.to}`,
    "",
    `Days ${r.period.from} to ${r.period.to}, both included, in ${r.period.timeZone ? md(r.period.timeZone) : "the host's time zone"} (${r.period.start} to ${r.period.end}). Made ${r.generatedAt} by Covenant ${md(r.generator)}. Times are the host's clock as each record wrote it.`,
    "",
    "## Summary",
    "",
    ...table(
      ["figure", "value"],
      [
        ["controls (key controls)", `${s.controls} (${s.keyControls})`],
        ["operational runs (of them, watcher runs)", `${s.runs.operational} (${s.runs.watch})`],
        ["dry runs, sandbox runs (never counted)", `${s.runs.dryRun}, ${s.runs.sandbox}`],
        ["evaluations of controls", String(s.evaluations)],
        ["kept", pct(s.keptShare)],
        ["controls with exceptions", String(s.controlsWithExceptions)],
        ["episodes, gaps", `${s.episodes}, ${s.gaps}`],
        ["open at the end", String(s.openAtEnd)],
        ["time to remediate", remediation(s.remediation)],
        ["integrity", r.integrity.verdict === "intact" ? "intact" : `TAMPERED: ${md(r.integrity.tampering?.message ?? "")}`],
      ],
    ),
    ...integrity(r),
    ...clock(r),
    "## Policy versions in force",
    "",
    ...table(["hash", "record", "first run", "from", "until", "files"], r.policyVersions.map((v) => [v.hash.slice(0, 16), String(v.record), String(v.firstRun), v.from, v.until ?? "", v.files.map((f) => md(f.path)).join(", ")])),
  ];
  for (const n of r.notes ?? []) lines.push(`> ${md(n)}`, "");
  for (const c of r.controls) lines.push(...control(c));
  if (r.sample) lines.push(...sample(r));
  return lines.join("\n");
}

function integrity(r: EvidenceReport): string[] {
  const i = r.integrity;
  const out = ["## Integrity", "", `Verdict: **${i.verdict}**. Records ${i.firstRecord ?? "none"} to ${i.lastRecord ?? "none"} (${i.records} in the period).`];
  if (i.head) out.push(`The report vouches for the head: record ${i.head.seq}, MAC \`${i.head.mac}\`.`);
  if (i.storeHead) out.push(`The store's head when the report was made: record ${i.storeHead.seq}, MAC \`${i.storeHead.mac}\`.`);
  if (i.tampering) out.push(`Tampering: ${md(i.tampering.kind)} at record ${i.tampering.seq}: ${md(i.tampering.message)}.`);
  for (const n of i.notes) out.push(`- ${md(n)}`);
  return [...out, ""];
}

function clock(r: EvidenceReport): string[] {
  const c = r.clock;
  const rows = [...c.backwardSteps.map((a) => ({ ...a, what: "step back" })), ...c.jumps.map((a) => ({ ...a, what: "jump" }))].sort((a, b) => a.record - b.record);
  return ["## Clock", "", `Every time is the host's own clock. Steps back: ${c.backwardCount ?? c.backwardSteps.length}; jumps longer than ${duration(c.jumpThresholdMs)}: ${c.jumpCount ?? c.jumps.length}.`, "", ...table(["record", "what", "from", "to", "by"], rows.map((a) => [String(a.record), a.what, a.previousAt, a.at, `${a.deltaMs < 0 ? "-" : ""}${duration(Math.abs(a.deltaMs))}`]))];
}

/** A line above a table that lists only some of its rows (`--list N`): how many of how many, which, and where every one is. */
function listedLines(listed: number, total: number, word: string, which: string): string[] {
  if (listed >= total) return [];
  return [`${listed} of ${total} ${total === 1 ? word : `${word}s`} listed: ${which}. The figures are over every one; the CSV and JSON reports list every one.`, ""];
}

function control(c: ControlReport): string[] {
  const d = c.design;
  const o = c.operation;
  const out = [`## ${md(c.id)}: ${md(d.title)}`, ""];
  out.push(`Severity ${d.severity}${d.key ? ", **key control**" : ""}${d.owner ? `, owner ${md(d.owner)}` : ""}${d.refs.length > 0 ? `, refs ${d.refs.map(md).join(", ")}` : ""}.`);
  if (d.description) out.push("", md(d.description));
  out.push("", "### Design", "");
  for (const v of d.versions) out.push(`- version ${v.hash.slice(0, 16)} from ${v.from}${v.until ? ` until ${v.until}` : ""}${v.changed ? " (changed this control)" : ""}`);
  // the promise as written, each line with its control characters escaped (a policy's text reaches a terminal too)
  for (const p of d.promises) out.push("", `${md(p.file)}:${p.line}`, "", "```", ...p.text.replace(/```/g, "` ` `").split("\n").map(escapeKeepingTabs), "```");
  out.push("", "### Operation", "");
  const cadence = o.expected.everyMs === null ? "unknown" : `every ${duration(o.expected.everyMs)} (${o.expected.source}), ${o.expected.count} expected`;
  out.push(`Evaluated ${o.evaluations} times; cadence ${cadence}; kept ${o.kept} (${pct(o.keptShare)}); time to remediate: ${remediation(o.remediation)}.`, "");
  out.push("#### Gaps", "", ...table(["from", "to", "duration", "exception"], o.gaps.map((g) => [g.from, g.to, duration(g.durationMs), g.text])));
  out.push("#### Episodes", "", ...listedLines(o.listing.episodes.listed, o.listing.episodes.total, "episode", o.listing.episodes.openAtEnd > 0 ? "those still open at the period's end, then the longest, then the most recent" : "the longest, then the most recent"), ...table(["id", "promise", "outcome", "why", "opened", "resolved", "duration", "repaired", "told", "acknowledged"], o.episodes.map((e) => [e.id, md(e.promise), e.notice ? "notice (repaired at once)" : e.outcome, md(e.reason), e.opened, e.resolved ? `${e.resolved} (${e.resolvedBy ?? ""})` : "open", duration(e.durationMs), e.repaired ? "yes" : "no", e.told.map((t) => `${md(t.recipient)} ${t.at}${t.status === "given-up" ? " (given up)" : ""}`).join("; "), e.ack ? `${md(e.ack.by)} ${e.ack.at}: ${md(e.ack.reason)}` : ""])));
  out.push("#### Repairs", "", ...listedLines(o.listing.repairs.listed, o.listing.repairs.total, "repair", "the most recent"), ...table(["at", "record", "promise", "changes"], o.repairs.map((x) => [x.at, String(x.record), md(x.promise), md(x.changes.join("; "))])));
  out.push("#### Integrity changes", "", "Approved:", "", ...table(["at", "record", "how", "by", "reason", "paths"], o.integrity.approved.map((a) => [a.at, String(a.record), a.how, md(a.by ?? ""), md(a.reason ?? ""), `${a.paths}: ${md(a.sample.join(", "))}`])));
  out.push("Not approved:", "", ...table(["at", "record", "promise", "paths", "kinds"], o.integrity.unapproved.map((u) => [u.at, String(u.record), md(u.promise), md(u.paths.join(", ")), u.kinds.join(", ")])));
  out.push("#### Waivers", "", ...table(["status", "reason", "approved by", "from", "until", "ticket"], o.waivers.map((w) => [w.status, md(w.reason), md(w.approvedBy), w.from ?? "", w.until, md(w.ticket ?? "")])));
  return out;
}

function sample(r: EvidenceReport): string[] {
  const s = r.sample!;
  const out = ["## Auditor's sample", "", `Seed ${md(s.seed)}, ${s.size} per control (sha256-seeded reservoir sampling: the same store, period, size and seed give the same picks).`, ""];
  for (const c of s.controls) {
    out.push(`### ${md(c.control)}: ${c.picks.length} of ${c.population}`, "");
    out.push(...table(["run", "started", "verdict", "proven", "summary record", "policy", "promises"], c.picks.map((p) => [String(p.run), p.started, p.verdict, p.proven ? "yes" : `no: ${md(p.why ?? "")}`, String(p.summaryRecord), p.policy.hash.slice(0, 16), p.promises.map((x) => `${md(x.key)} ${x.outcome} (record ${x.record}): ${md(x.reason)}`).join("; ")])));
  }
  return out;
}
