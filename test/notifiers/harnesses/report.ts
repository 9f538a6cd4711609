// The report channel against a real directory. A temporary failure is a full file system (a
// small tmpfs mounted over the directory and filled: ENOSPC), or, where mounting is impossible
// (not root), a directory closed to writing (EACCES); a permanent one is the directory replaced
// by a symbolic link, which the channel refuses to follow.
import { readdirSync, readFileSync, renameSync, symlinkSync, mkdirSync, chmodSync, writeFileSync, rmSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ReportChannel } from "../../../src/config/types.js";
import { createReportChannel } from "../../../src/notifiers/report.js";
import { mountTmpfs, unmountAll } from "../../store/mounts.js";
import { context } from "../hooks-fixtures.js";
import type { ChannelHarness } from "./types.js";

export interface ReportHarness extends ChannelHarness {
  directory: string;
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

export async function reportHarness(): Promise<ReportHarness> {
  const root = mkdtempSync(join(tmpdir(), "report-harness-"));
  const directory = join(root, "reports");
  const aside = join(root, "reports-aside");
  let broken: "none" | "full" | "closed" | "link" = "none";
  const heal = () => {
    if (broken === "full") unmountAll();
    if (broken === "closed") chmodSync(directory, 0o750);
    if (broken === "link") {
      rmSync(directory);
      renameSync(aside, directory);
    }
    broken = "none";
  };
  return {
    directory,
    secret: "",
    async make() {
      heal();
      const config: ReportChannel = { type: "report", name: "digest", directory, period: "day", formats: ["markdown", "json"] };
      return createReportChannel(config, context(new Date()));
    },
    async received() {
      if (broken !== "none") return [];
      let names: string[];
      try {
        names = readdirSync(directory).filter((n) => n.endsWith(".json")).sort();
      } catch {
        return [];
      }
      return names.flatMap((n) => JSON.parse(readFileSync(join(directory, n), "utf8")) as unknown[]);
    },
    async breakTemporarily() {
      mkdirSync(directory, { recursive: true, mode: 0o750 });
      const mounted = mountTmpfs(directory, "256k");
      if (mounted.ok) {
        broken = "full";
        fill(directory);
      } else {
        broken = "closed";
        chmodSync(directory, 0o550);
      }
    },
    async breakPermanently() {
      mkdirSync(directory, { recursive: true, mode: 0o750 });
      renameSync(directory, aside);
      mkdirSync(join(root, "elsewhere"), { recursive: true, mode: 0o750 });
      symlinkSync(join(root, "elsewhere"), directory);
      broken = "link";
    },
    async stop() {
      heal();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
