// `covenant hub ...`: commander wiring for the fleet hub's commands; the work is in commands/hub-*.ts,
// loaded only when run (the bundle is split per command, and `hub init` alone loads the x509 library).
import { Option, type Command } from "commander";
import { escapeText } from "./escape.js";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";

const hubInitCommand = () => import("./commands/hub-init.js");

/** Where `hub init` writes unless told (commands/hub-init.ts is not loaded to build the help). */
const DEFAULT_HUB_TLS_DIR = "/etc/covenant/hub/tls";

export function addHubCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  const hub = program.command("hub").description("the fleet hub: every host's record in PostgreSQL, served over HTTPS (docs/hub.md)");

  hub
    .command("init")
    .description("make a private CA and the hub's certificate for a first installation (ECDSA P-256; never over files that exist)")
    .option("--dir <dir>", "where to write ca.key, ca.pem, hub.key and hub.pem (made 0700 if missing)", DEFAULT_HUB_TLS_DIR)
    .addOption(
      new Option("--name <name>", "a DNS name or IP address hosts reach the hub at (repeatable)")
        .argParser((name: string, names: string[]) => [...names, name])
        .default([], "this machine's name, localhost, 127.0.0.1 and ::1"),
    )
    .option("--days <n>", "how many days the hub's certificate is valid, up to 3650 (the CA: 3650)", "825")
    .option("--json", "print what was made as JSON", false)
    .addOption(new Option("--now <instant>", "the instant the certificates start from (ISO 8601)").hideHelp())
    .addHelpText(
      "after",
      "\nExamples:\n  covenant hub init --name hub.example.com --name 10.0.0.5\n  covenant hub init --dir ./tls --name localhost --days 30\n\nExit codes: 0 made, 2 a file exists there already, a bad name or number of days, or a directory that cannot be made or\nthat someone other than root can change (as root).",
    )
    .action(async (o: { dir: string; name: string[]; days: string; json: boolean; now?: string }) => {
      const days = /^\d{1,5}$/.test(o.days.trim()) ? Number(o.days.trim()) : NaN;
      if (!(days >= 1 && days <= 3650)) {
        io.err(`covenant hub init: --days wants a whole number from 1 to 3650, got \`${escapeText(o.days)}\``);
        return setExit(EXIT.policyError);
      }
      const now = o.now !== undefined ? new Date(o.now) : undefined;
      if (now && Number.isNaN(now.getTime())) {
        io.err("covenant hub init: --now wants an ISO 8601 instant");
        return setExit(EXIT.policyError);
      }
      setExit(await (await hubInitCommand()).runHubInit({ dir: o.dir, names: o.name, days, json: o.json, ...(now ? { now } : {}) }, io));
    });
}
