// The report channel against a real directory. What the receiver holds is one item per message
// written: its JSON entry and its section of the Markdown digest (what an auditor reads, and what
// a Markdown viewer renders). A temporary refusal is a full file system (a small tmpfs mounted
// over the directory and filled: ENOSPC); "down" is that file system turned read-only (EROFS);
// without root, where nothing can be mounted, both are a directory closed to writing (EACCES).
// A permanent refusal is the directory replaced by a symbolic link, which the channel refuses.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ReportChannel } from "../../../src/config/types.js";
import { createChannel } from "../../../src/notifiers/report.js";
import { sectionMarker } from "../../../src/notifiers/report-markdown.js";
import type { ReportEntry } from "../../../src/notifiers/report.js";
import { mountTmpfs, remount, unmountAll } from "../../store/mounts.js";
import { context } from "../hooks-fixtures.js";
import type { ChannelHarness } from "./types.js";

export interface ReportItem {
  entry: ReportEntry;
  /** the message's section of the Markdown digest */
  markdown: string;
}

/** Fills the file system holding `dir` until it refuses another page (tmpfs allocates 4 KiB at a time). */
export function fill(dir: string): void {
  let n = 0;
  for (const size of [64 * 1024, 4096]) {
    const chunk = Buffer.alloc(size);
    for (;;) {
      try {
        writeFileSync(join(dir, `filler-${n++}`), chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
        throw err;
      }
      if (n > 100_000) throw new Error(`${dir} did not fill up`);
    }
  }
}

function sectionOf(markdown: string, messageId: string): string {
  const marker = sectionMarker(messageId);
  return markdown.split(/^(?=## )/m).find((part) => part.split("\n").includes(marker)) ?? "";
}

/** every message written to `directory`, as the report channel wrote it */
export function reportItems(directory: string): ReportItem[] {
  let names: string[];
  try {
    names = readdirSync(directory).filter((n) => n.endsWith(".json")).sort();
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const markdownName = name.replace(/\.json$/, ".md");
    let markdown = "";
    try {
      markdown = readFileSync(join(directory, markdownName), "utf8");
    } catch {
      // JSON only
    }
    return (JSON.parse(readFileSync(join(directory, name), "utf8")) as ReportEntry[]).map((entry) => ({ entry, markdown: sectionOf(markdown, entry.message_id) }));
  });
}

export interface ReportHarness extends ChannelHarness {
  directory: string;
}

export async function reportHarness(): Promise<ReportHarness> {
  const root = mkdtempSync(join(tmpdir(), "report-harness-"));
  const directory = join(root, "reports");
  const aside = join(root, "reports-aside");
  mkdirSync(directory, { mode: 0o750 });
  let broken: "none" | "mounted" | "closed" | "link" = "none";
  /** a file system over the directory, full or read-only; or, without root, the directory closed */
  const spoil = (how: "full" | "read-only") => {
    const mounted = mountTmpfs(directory, "256k");
    if (!mounted.ok) {
      chmodSync(directory, 0o550);
      broken = "closed";
      return;
    }
    broken = "mounted";
    if (how === "full") fill(directory);
    else remount(directory, "ro");
  };
  const heal = () => {
    if (broken === "mounted") unmountAll();
    if (broken === "closed") chmodSync(directory, 0o750);
    if (broken === "link") {
      rmSync(directory);
      renameSync(aside, directory);
    }
    broken = "none";
  };
  const item = (i: unknown) => i as ReportItem;
  return {
    directory,
    // the report channel reads no secret: this one is in no configuration, and the check can only pass
    secret: `no-secret-${randomBytes(8).toString("hex")}`,
    dedupes: true,
    async make() {
      const config: ReportChannel = { type: "report", name: "digest", directory, period: "day", formats: ["markdown", "json"] };
      return createChannel(config, context(new Date()));
    },
    received: async () => (broken === "none" ? reportItems(directory) : []),
    shows: (i) => item(i).markdown,
    markup: (i) => item(i).markdown,
    idOf: (i) => item(i)?.entry.message_id,
    outsideText: "escaped",
    showsWholeReason: true,
    breakTemporarily: () => spoil("full"),
    breakPermanently() {
      renameSync(directory, aside);
      mkdirSync(join(root, "elsewhere"), { recursive: true, mode: 0o750 });
      symlinkSync(join(root, "elsewhere"), directory);
      broken = "link";
    },
    heal,
    down: async () => spoil("read-only"),
    up: async () => heal(),
    async stop() {
      heal();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
