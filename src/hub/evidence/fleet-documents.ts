// The fleet report's documents (fleet.json, fleet.html, fleet.md and the CSV tables), made a host
// at a time as streamFleetReport gives each host: of a host, its part of fleet.json, its section
// of fleet.html and its episodes' lines of fleet.md and fleet-episodes.csv go to scratch files as
// it is read, and each document is its head (made from the fleet's totals, known only once every
// host is read), then its scratch file, then its tail. The evidence pack (fleet-pack.ts) and
// `covenant hub report` both write them so: what grows with the period or the fleet is on disk,
// never in memory. They are the bytes the report built whole gives (renderFleetHtml,
// renderFleetMarkdown, renderFleetCsv, JSON.stringify: test/hub/fleet-evidence.test.ts).
import { randomBytes } from "node:crypto";
import type { Scratch } from "../../evidence/write.js";
import { reportJsonPieces } from "../../report/report-json.js";
import { fleetHtmlPieces, hostSectionHtml } from "./fleet-html.js";
import type { FleetHost, FleetHostSummary, FleetOverview } from "./fleet-model.js";
import { withHosts } from "./fleet-report.js";
import { episodeCsvLine, episodeMarkdownLine, episodeRowsOf, fleetCsvPieces, fleetMarkdownPieces, type FleetEpisodeLines } from "./fleet-text.js";

export type FleetFormat = "json" | "html" | "md" | "csv";

export class FleetDocuments {
  private readonly hostsJson: HostsJson | undefined;
  private readonly episodes: EpisodeScratch | undefined;
  private readonly sections: SectionScratch | undefined;

  /** `formats`: the documents to make (the others' parts are not written at all). */
  constructor(
    scratch: () => Scratch,
    private readonly toleranceMs: number,
    private readonly formats: ReadonlySet<FleetFormat> = new Set(["json", "html", "md", "csv"]),
  ) {
    if (formats.has("json")) this.hostsJson = new HostsJson(scratch());
    if (formats.has("md") || formats.has("csv")) this.episodes = new EpisodeScratch(formats.has("md") ? scratch() : undefined, formats.has("csv") ? scratch() : undefined);
    if (formats.has("html")) this.sections = new SectionScratch(scratch());
  }

  /** A host as streamFleetReport gives it: its full part, its summary and its place among the hosts. */
  add(h: FleetHost, summary: FleetHostSummary, index: number): void {
    this.hostsJson?.add(h);
    this.episodes?.add(h);
    this.sections?.add(hostSectionHtml(this.toleranceMs, summary, index));
  }

  /** Each document of the formats asked for, by file name, as pieces to read once. */
  *files(report: FleetOverview): Generator<[string, Iterable<string | Buffer>]> {
    if (this.hostsJson) yield ["fleet.json", this.hostsJson.fleetJson(report)];
    if (this.sections) yield ["fleet.html", fleetHtmlPieces(report, this.sections.chunks())];
    const episodes = this.episodes;
    if (episodes && this.formats.has("md")) yield ["fleet.md", fleetMarkdownPieces(report, episodes)];
    if (episodes && this.formats.has("csv")) yield* fleetCsvPieces(report, episodes);
  }
}

/**
 * fleet.json as JSON.stringify(report, null, 2) writes it, the hosts' full parts included, made
 * without holding them: each host's part is written to a scratch file as the host is read, and
 * the JSON is the report's text before its hosts, the scratch file, then the text after them.
 */
class HostsJson {
  private count = 0;

  constructor(private readonly scratch: Scratch) {}

  /**
   * A host's part, indented as an element of the report's `hosts` (JSON text holds no newline
   * inside a string): its report in the pieces reportJsonPieces gives, each indented as it passes,
   * so that a quarter's report is never one string (and its indented copy).
   */
  add(h: FleetHost): void {
    if (this.count++ > 0) this.scratch.write(",\n    ");
    const mark = JSON.stringify(`covenant-host-report-${randomBytes(16).toString("hex")}`);
    const head = JSON.stringify({ ...h, report: JSON.parse(mark) as string }, null, 2).replace(/\n/g, "\n    ");
    const at = head.indexOf(mark);
    this.scratch.write(head.slice(0, at));
    // the report stands 6 spaces in (a key of a host, an element of the hosts); its text's last newline is not part of it
    let held: string | undefined;
    for (const piece of reportJsonPieces(h.report)) {
      if (held !== undefined) this.scratch.write(held.replace(/\n/g, "\n      "));
      held = piece;
    }
    if (held !== undefined) this.scratch.write(held.replace(/\n$/, "").replace(/\n/g, "\n      "));
    this.scratch.write(head.slice(at + mark.length));
  }

  *fleetJson(report: FleetOverview): Generator<string | Buffer> {
    // a mark no host's text can hold: its place in the report's text is where the hosts go
    const mark = JSON.stringify(`covenant-fleet-hosts-${randomBytes(16).toString("hex")}`);
    const text = JSON.stringify(withHosts(report, [JSON.parse(mark) as string]), null, 2) + "\n";
    const at = text.indexOf(mark);
    yield text.slice(0, at);
    yield* this.scratch.chunks();
    yield text.slice(at + mark.length);
  }
}

/** The fleet's episodes as the Markdown and CSV tables list them, each host's written to scratch files as the host is read. */
class EpisodeScratch implements FleetEpisodeLines {
  count = 0;

  constructor(
    private readonly md: Scratch | undefined,
    private readonly csvLines: Scratch | undefined,
  ) {}

  add(h: FleetHost): void {
    for (const e of episodeRowsOf(h)) {
      this.md?.write(episodeMarkdownLine(e));
      this.csvLines?.write(episodeCsvLine(e));
      this.count++;
    }
  }

  markdown(): Iterable<Buffer> {
    return this.md?.chunks() ?? [];
  }

  csv(): Iterable<Buffer> {
    return this.csvLines?.chunks() ?? [];
  }
}

/** Each host's section of fleet.html, drawn as the host is read, joined by newlines. */
class SectionScratch {
  private count = 0;

  constructor(private readonly scratch: Scratch) {}

  add(section: string): void {
    if (this.count++ > 0) this.scratch.write("\n");
    this.scratch.write(section);
  }

  chunks(): Iterable<Buffer> {
    return this.scratch.chunks();
  }
}
