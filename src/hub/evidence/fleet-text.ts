// The fleet report as Markdown (to read, or paste into a ticket) and as CSV tables for
// spreadsheets: hosts, controls across hosts, episodes with both times, records off the hub's
// clock. Host text is made inert as the host report makes it (report-markdown.ts md, report-csv.ts
// csvCell: no Markdown from a reason, no spreadsheet formula from a hostname).
//
// A fleet's episodes are the one part that grows with the period (a quarter of 200 hosts can hold
// millions), so they are lines made a host at a time (FleetEpisodeLines): the evidence pack and
// `covenant hub report` write them to scratch files as each host is read (fleet-documents.ts) and the
// documents take them back as pieces; a report built whole makes them from its hosts' reports (the
// tests hold the two to the same bytes).
import { csvCell, csvOf } from "../../report/report-csv.js";
import { duration, md } from "../../report/report-markdown.js";
import type { FleetHost, FleetOverview, FleetReport } from "./fleet-model.js";
import { inDoubt, overviewOf } from "./fleet-report.js";

const pct = (v: number | null) => (v === null ? "n/a" : `${(v * 100).toFixed(1)}%`);

function table(header: string[], rows: string[][]): string[] {
  if (rows.length === 0) return ["(none)", ""];
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`), ""];
}

/** One episode as the fleet's tables list it, with the hub's receive times beside the host's. */
export interface FleetEpisodeRow {
  host: string;
  control: string;
  id: string;
  promise: string;
  outcome: string;
  opened: string;
  openedReceived: string;
  resolved: string;
  resolvedReceived: string;
  repaired: boolean;
  reason: string;
}

/** A host's deficiencies (episodes that were not notices), in its report's order, from its full report. */
export function episodeRowsOf(h: FleetHost): FleetEpisodeRow[] {
  const received = (n: number | undefined) => (n === undefined ? "" : (h.received[String(n)] ?? ""));
  return h.report.controls.flatMap((c) =>
    c.operation.episodes
      .filter((e) => !e.notice)
      .map((e) => ({ host: h.name, control: c.id, id: e.id, promise: e.promise, outcome: e.outcome, opened: e.opened, openedReceived: received(e.openedRecord), resolved: e.resolved ?? "", resolvedReceived: received(e.resolvedRecord), repaired: e.repaired, reason: e.reason })),
  );
}

const EPISODE_HEADER = ["host", "control", "promise", "outcome", "opened", "resolved"];
const EPISODE_CSV_HEADER = ["host", "control", "id", "promise", "outcome", "opened_host_time", "opened_received_at", "resolved_host_time", "resolved_received_at", "repaired", "reason"];

/** An episode's line of the Markdown table, newline included. */
export function episodeMarkdownLine(e: FleetEpisodeRow): string {
  const cells = [md(e.host), md(e.control), md(e.promise), md(e.outcome), `${e.opened} / ${e.openedReceived}`, e.resolved ? `${e.resolved} / ${e.resolvedReceived}` : "open"];
  return `| ${cells.join(" | ")} |\n`;
}

/** An episode's line of fleet-episodes.csv, line end included. */
export function episodeCsvLine(e: FleetEpisodeRow): string {
  return [e.host, e.control, e.id, e.promise, e.outcome, e.opened, e.openedReceived, e.resolved, e.resolvedReceived, e.repaired, e.reason].map(csvCell).join(",") + "\r\n";
}

/** The fleet's episode lines, however they are held: how many, and each table's lines as pieces to read once. */
export interface FleetEpisodeLines {
  count: number;
  markdown(): Iterable<string | Buffer>;
  csv(): Iterable<string | Buffer>;
}

/** The episode lines of a report built whole. */
export function episodeLinesOf(r: FleetReport): FleetEpisodeLines {
  const rows = r.hosts.flatMap(episodeRowsOf);
  return { count: rows.length, markdown: () => rows.map(episodeMarkdownLine), csv: () => rows.map(episodeCsvLine) };
}

/** The Markdown document as pieces: the fleet's figures, hosts and controls, then the episodes' lines as they are given. */
export function* fleetMarkdownPieces(full: FleetReport | FleetOverview, episodes: FleetEpisodeLines): Generator<string | Buffer> {
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
    for (const l of table(["host", "evaluations", "kept", "gaps", "episodes", "open at end", "repairs"], c.hosts.map((h) => [md(h.name), String(h.evaluations), pct(h.keptShare), String(h.gaps), String(h.episodes), String(h.openAtEnd), String(h.repairs)]))) out.push(l);
  }
  out.push("## Episodes (host time / hub received)", "");
  yield out.join("\n") + "\n";
  if (episodes.count === 0) {
    yield "(none)\n\n";
    return;
  }
  yield `| ${EPISODE_HEADER.join(" | ")} |\n|${EPISODE_HEADER.map(() => "---").join("|")}|\n`;
  yield* episodes.markdown();
  yield "\n";
}

/** The Markdown document of a report built whole. */
export function renderFleetMarkdown(r: FleetReport): string {
  return [...fleetMarkdownPieces(r, episodeLinesOf(r))].join("");
}

/** The tables as pieces, by file name (fleet-episodes.csv's lines as they are given). */
export function fleetCsvPieces(full: FleetReport | FleetOverview, episodes: FleetEpisodeLines): Map<string, Iterable<string | Buffer>> {
  const r = overviewOf(full);
  const out = new Map<string, Iterable<string | Buffer>>();
  out.set("fleet-hosts.csv", [csvOf(["host_id", "host", "group", "chain_status", "chain_verdict", "incidents", "records", "first_record", "last_record", "clock_ahead", "received_late", "last_push_skew_ms"], r.hosts.map((h) => [h.id, h.name, h.group, h.chain.status, h.chain.verdict, h.chain.incidents.length, h.chain.records, h.chain.first, h.chain.last, h.clock.ahead.count, h.clock.behind.count, h.clock.lastPushSkewMs]))]);
  out.set("fleet-controls.csv", [csvOf(["control", "host", "evaluations", "expected", "kept", "kept_share", "gaps", "episodes", "open_at_end", "repairs"], r.controls.flatMap((c) => c.hosts.map((h) => [c.id, h.name, h.evaluations, h.expected.count, h.kept, h.keptShare === null ? "" : h.keptShare.toFixed(4), h.gaps, h.episodes, h.openAtEnd, h.repairs])))]);
  out.set("fleet-episodes.csv", episodeCsv(episodes));
  out.set("fleet-clock.csv", [csvOf(["host", "side", "record", "host_time", "received_at", "delta_ms"], r.hosts.flatMap((h) => [...h.clock.ahead.list.map((o) => ["ahead", o] as const), ...h.clock.behind.list.map((o) => ["behind", o] as const)].map(([side, o]) => [h.name, side, o.record, o.hostTime, o.receivedAt, o.deltaMs])))]);
  return out;
}

function* episodeCsv(episodes: FleetEpisodeLines): Generator<string | Buffer> {
  yield EPISODE_CSV_HEADER.map(csvCell).join(",") + "\r\n";
  yield* episodes.csv();
}

/** The tables of a report built whole, by file name. */
export function renderFleetCsv(r: FleetReport): Map<string, string> {
  return new Map([...fleetCsvPieces(r, episodeLinesOf(r))].map(([name, pieces]) => [name, [...pieces].join("")]));
}
