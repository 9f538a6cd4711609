// `covenant map`: its options and help, wired to src/cli/commands/map.ts (loaded when run).
import { Option, type Argument, type Command } from "commander";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";

const mapCommand = () => import("./commands/map.js");

/** The options `check` and `run` share, as program.ts makes them. */
export interface SharedOptions {
  policyPaths(): Argument;
  includeOption(): Option;
  maxFileSizeOption(): Option;
  fileSize(text: string, command: string, io: Io): number | undefined;
}

export function addMapCommand(program: Command, io: Io, setExit: (code: number) => void, shared: SharedOptions): void {
  program
    .command("map")
    .description("the knowledge map: controls, promises, the resources they watch, stakeholders and framework references, with the latest outcomes")
    .addArgument(shared.policyPaths())
    .addOption(new Option("--format <format>", "output format").choices(["html", "json", "dot"]).default("html"))
    .option("--out <file>", "write the map to this file (never through a link) instead of standard output")
    .option("--state <dir>", "overlay the latest outcomes from this state directory (default: as for `run`, when it is there)")
    .option("--no-state", "the policy alone: no outcomes, even when a store is there")
    .addOption(shared.includeOption())
    .addOption(shared.maxFileSizeOption())
    .option("--config <file>", "covenant.yaml: show which channels reach each stakeholder (their names only)")
    .addHelpText(
      "after",
      "\nReads the store without changing it. The HTML is one file with nothing outside it (docs/map.md).\n\nExamples:\n  covenant map --out map.html policies/sox-itgc\n  covenant map --format dot examples/sox | dot -Tsvg > map.svg\n  covenant map --format json --state /var/lib/covenant --config /etc/covenant/covenant.yaml /etc/covenant/policies\n\nExit codes: 0 written, 1 written, but a record of the history failed its check (passed over), 2 policy or configuration error, a store that cannot be read, or a file that cannot be written.",
    )
    .action(async (paths: string[], o: { format: "html" | "json" | "dot"; out?: string; state?: string | false; include: string[]; maxFileSize: string; config?: string }) => {
      const maxFileSize = shared.fileSize(o.maxFileSize, "map", io);
      if (maxFileSize === undefined) return setExit(EXIT.policyError);
      const opts: import("./commands/map.js").MapOptions = { format: o.format, include: o.include, maxFileSize };
      if (o.out !== undefined) opts.out = o.out;
      if (o.state !== undefined) opts.state = o.state;
      if (o.config !== undefined) opts.config = o.config;
      setExit((await mapCommand()).runMap(paths, opts, io));
    });
}
