// The fleet report as Markdown (to read, or paste into a ticket) and as CSV tables for
// spreadsheets: hosts, controls across hosts, episodes with both times, records off the hub's
// clock. Host text is made inert as the host report makes it (report-markdown.ts md, report-csv.ts
// csvCell: no Markdown from a reason, no spreadsheet formula from a hostname).
import { csvOf } from "../../report/report-csv.js";
import { duration, md } from "../../report/report-markdown.js";
import type { FleetOverview, FleetReport } from "./fleet-model.js";
import { inDoubt, overviewOf } from "./fleet-report.js";

const pct = (v: number | null) => (v === null ? "n/a" : `${(v * 100).toFixed(1)}%`);

function table(header: string[], rows: string[][]): string[] {
  if (rows.length === 0) return ["(none)", ""];
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`), ""];
}

export function renderFleetMarkdown(full: FleetReport | FleetOverview): string {
  const r = overviewOf(full);
  const s = r.summary;
  const out = [
    `# Fleet evidence report: ${r.scope.group === null ? "the whole fleet" : `host group ${md(r.scope.group)}`}, ${md(r.period.from)} to ${md(r.period.to)}`,
    "",
    `Made by the hub whose key is ${md(r.hub.fingerprint)} on ${r.generatedAt}. Times are each host's clock, with the hub's receive time beside it; records more than ${duration(r.clock.toleranceMs)} from it are flagged.`,
    "",
    `- hosts: ${s.hosts} (chains in doubt: ${s.hostsInDoubt}; clocks ahead of the hub's: ${s.hostsClockAhead})`,
    `- controls: ${s.controls}; evaluations: ${s.evaluations}; kept: ${pct(s.keptShare)}`,
    `- episodes: ${s.episodes}; gaps: ${s.gaps}; open at the end: ${s.openAtEnd}`,
    ...r.notes.map((n) => `- ${md(n)}`),
    "",
    "## Hosts",
    "",
    ...table(["host", "group", "chain", "incidents", "records", "clock ahead", "received late"], r.hosts.map((h) => [md(h.name), md(h.group ?? ""), inDoubt(h) ? `**in doubt** (${md(h.chain.status)}, ${h.chain.verdict})` : "intact", String(h.chain.incidents.length), String(h.chain.records), String(h.clock.ahead.count), String(h.clock.behind.count)])),
    "## Controls",
    "",
  ];
  for (const c of r.controls) {
    out.push(`### ${md(c.id)}`, "", c.design ? `${md(c.design.title)}; severity ${md(c.design.severity)}${c.design.owner ? `; owner ${md(c.design.owner)}` : ""}` : "no stored policy version defines it", "");
    pushAll(out, table(["host", "evaluations", "kept", "gaps", "episodes", "open at end", "repairs"], c.hosts.map((h) => [md(h.name), String(h.evaluations), pct(h.keptShare), String(h.gaps), String(h.episodes), String(h.openAtEnd), String(h.repairs)])));
  }
  out.push("## Episodes (host time / hub received)", "");
  pushAll(out, table(["host", "control", "promise", "outcome", "opened", "resolved"], episodeRows(r).map((e) => [md(e.host), md(e.control), md(e.promise), md(e.outcome), `${e.opened} / ${e.openedReceived}`, e.resolved ? `${e.resolved} / ${e.resolvedReceived}` : "open"])));
  return out.join("\n") + "\n";
}

/** Appends `lines` one by one: a fleet's episodes are hundreds of thousands, more than a call's arguments may be (push(...lines) overflowed the stack). */
function pushAll(out: string[], lines: readonly string[]): void {
  for (const l of lines) out.push(l);
}

function episodeRows(r: FleetOverview) {
  return r.hosts.flatMap((h) =>
    h.deficiencies.map(({ control, episode: e }) => ({ host: h.name, hostId: h.id, control, id: e.id, promise: e.promise, outcome: e.outcome, opened: e.opened, openedReceived: h.received[String(e.openedRecord)] ?? "", resolved: e.resolved ?? "", resolvedReceived: e.resolvedRecord !== undefined ? (h.received[String(e.resolvedRecord)] ?? "") : "", repaired: e.repaired, reason: e.reason })),
  );
}

/** The tables, by file name. */
export function renderFleetCsv(full: FleetReport | FleetOverview): Map<string, string> {
  const r = overviewOf(full);
  const out = new Map<string, string>();
  out.set("fleet-hosts.csv", csvOf(["host_id", "host", "group", "chain_status", "chain_verdict", "incidents", "records", "first_record", "last_record", "clock_ahead", "received_late", "last_push_skew_ms"], r.hosts.map((h) => [h.id, h.name, h.group, h.chain.status, h.chain.verdict, h.chain.incidents.length, h.chain.records, h.chain.first, h.chain.last, h.clock.ahead.count, h.clock.behind.count, h.clock.lastPushSkewMs])));
  out.set("fleet-controls.csv", csvOf(["control", "host", "evaluations", "expected", "kept", "kept_share", "gaps", "episodes", "open_at_end", "repairs"], r.controls.flatMap((c) => c.hosts.map((h) => [c.id, h.name, h.evaluations, h.expected.count, h.kept, h.keptShare === null ? "" : h.keptShare.toFixed(4), h.gaps, h.episodes, h.openAtEnd, h.repairs]))));
  out.set("fleet-episodes.csv", csvOf(["host", "control", "id", "promise", "outcome", "opened_host_time", "opened_received_at", "resolved_host_time", "resolved_received_at", "repaired", "reason"], episodeRows(r).map((e) => [e.host, e.control, e.id, e.promise, e.outcome, e.opened, e.openedReceived, e.resolved, e.resolvedReceived, e.repaired, e.reason])));
  out.set("fleet-clock.csv", csvOf(["host", "side", "record", "host_time", "received_at", "delta_ms"], r.hosts.flatMap((h) => [...h.clock.ahead.list.map((o) => ["ahead", o] as const), ...h.clock.behind.list.map((o) => ["behind", o] as const)].map(([side, o]) => [h.name, side, o.record, o.hostTime, o.receivedAt, o.deltaMs]))));
  return out;
}
