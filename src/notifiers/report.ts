// The report channel, for stakeholders who want no messages: each message's deficiencies are
// added to that stakeholder's digest for the period (report-period.ts), as Markdown to read and
// JSON to process (docs/channels/report.md). Writing the same message twice (a resend after a
// crash) adds it once: each file is checked for the message's id before it is rewritten.
import type { ReportChannel } from "../config/types.js";
import type { Channel, ChannelContext, ChannelFactory, Delivery, Message } from "./contract.js";
import { deficiencyRecord, type DeficiencyRecord } from "./payload.js";
import { holdingLock, ReportRefusal, readDigest, replaceDigest, reportDirectory } from "./report-files.js";
import { fileHeading, messageSection, sectionMarker } from "./report-markdown.js";
import { periodStart } from "./report-period.js";
import { oneLine } from "./text.js";

/** One message in a JSON digest. */
export interface ReportEntry {
  message_id: string;
  kind: Message["kind"];
  route: string;
  group_key: string;
  group_labels: Record<string, string>;
  stakeholder: string;
  host: string;
  created_at: string;
  written_at: string;
  deficiencies: DeficiencyRecord[];
}

/** Errors that clear up by themselves or by an operator's routine fix (space, permissions): worth a retry. */
const ERRNO_WORDS: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  EIO: "input/output error",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  EBUSY: "another writer held the digest for too long",
};

/** A stakeholder's name as part of a file name: names are plain words, but one with a slash or a leading dot must not leave the directory. */
export function fileStem(stakeholder: string): string {
  return stakeholder.replace(/^\.+/, "_").replace(/[^A-Za-z0-9_.@+-]/g, "_") || "_";
}

export const createChannel: ChannelFactory = async (config, ctx) => {
  if (config.type !== "report") throw new Error(`the report channel was given a ${config.type} channel's configuration`);
  return new Report(config, ctx);
};

class Report implements Channel {
  constructor(
    readonly config: ReportChannel,
    private readonly ctx: ChannelContext,
  ) {}

  async send(message: Message): Promise<Delivery> {
    try {
      return await this.write(message);
    } catch (err) {
      return failure(err, this.config.directory);
    }
  }

  async close(): Promise<void> {}

  private async write(message: Message): Promise<Delivery> {
    const directory = reportDirectory(this.config.directory);
    const planned = new Date(message.createdAt);
    const at = Number.isNaN(planned.getTime()) ? this.ctx.now() : planned;
    const start = periodStart(at, this.config.period, message.stakeholder.timezone);
    const stem = `${fileStem(message.stakeholder.name)}-${start}`;
    const written: string[] = [];
    const already: string[] = [];
    const now = this.ctx.now();
    await holdingLock(directory, stem, () => {
      if (this.config.formats.includes("markdown")) {
        const name = `${stem}.md`;
        (this.addMarkdown(directory, name, message, start, now) ? written : already).push(name);
      }
      if (this.config.formats.includes("json")) {
        const name = `${stem}.json`;
        (addJson(directory, name, message, now) ? written : already).push(name);
      }
    });
    const parts = [written.length > 0 ? `added to ${written.join(", ")}` : "", already.length > 0 ? `already in ${already.join(", ")}` : ""].filter(Boolean);
    return { ok: true, providerId: stem, detail: `${parts.join("; ")} in ${this.config.directory}` };
  }

  private addMarkdown(directory: string, name: string, message: Message, start: string, now: Date): boolean {
    const old = readDigest(`${directory}/${name}`);
    if (old?.split("\n").includes(sectionMarker(message.id))) return false;
    const head = old ?? fileHeading(message.stakeholder.name, start, this.config.period);
    replaceDigest(directory, name, `${head}${messageSection(message, now)}`);
    return true;
  }
}

function addJson(directory: string, name: string, message: Message, now: Date): boolean {
  const old = readDigest(`${directory}/${name}`);
  let entries: ReportEntry[] = [];
  if (old !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(old);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed)) throw new ReportRefusal(`${directory}/${name} is not a JSON array (damaged?): move it aside`);
    entries = parsed as ReportEntry[];
  }
  if (entries.some((e) => e?.message_id === message.id)) return false;
  entries.push({
    message_id: message.id,
    kind: message.kind,
    route: message.route,
    group_key: message.groupKey,
    group_labels: { ...message.groupLabels },
    stakeholder: message.stakeholder.name,
    host: message.host,
    created_at: message.createdAt,
    written_at: now.toISOString(),
    deficiencies: message.deficiencies.map(deficiencyRecord),
  });
  replaceDigest(directory, name, `${JSON.stringify(entries, null, 2)}\n`);
  return true;
}

function failure(err: unknown, configured: string): Delivery {
  const directory = oneLine(configured);
  if (err instanceof ReportRefusal) return { ok: false, retryable: false, error: oneLine(err.message) };
  if (err instanceof RangeError) return { ok: false, retryable: false, error: `the report could not be dated: ${oneLine(err.message)}` };
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ELOOP") return { ok: false, retryable: false, error: `a symbolic link in ${directory} was not followed: remove it` };
  // no errno: the message itself could not be written out, and would fail the same way again
  if (!code) return { ok: false, retryable: false, error: `the report in ${directory} could not be written: ${oneLine((err as Error).message)}` };
  return { ok: false, retryable: true, error: `the report in ${directory} could not be written: ${ERRNO_WORDS[code] ?? code} (${code})` };
}
