// `covenant hub report|evidence|key export`: commander wiring for the fleet's evidence (docs/hub-evidence.md);
// the work is in commands/hub-evidence.ts, loaded only when run.
import { Option, type Command } from "commander";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";

const hubEvidence = () => import("./commands/hub-evidence.js");

type Common = { config?: string; from: string; to: string; group?: string; control: string[]; tz?: string; now?: string };

function common(c: Command, configHelp: string): Command {
  return c
    .option("--config <file>", configHelp)
    .requiredOption("--from <date>", "the first day of the period, YYYY-MM-DD (included)")
    .requiredOption("--to <date>", "the last day of the period, YYYY-MM-DD (included)")
    .option("--group <name>", "only the hosts of this host group (every host when absent)")
    .addOption(new Option("--control <id>", "only this control (repeatable)").argParser((id: string, ids: string[]) => [...ids, id]).default([], "every control of the period"))
    .option("--tz <zone>", "read the days in this time zone (default UTC)")
    .addOption(new Option("--now <instant>", "the instant the report says it was made (ISO 8601)").hideHelp());
}

function nowOf(o: { now?: string }, io: Io, command: string): Date | undefined | number {
  if (o.now === undefined) return undefined;
  const now = new Date(o.now);
  if (!Number.isNaN(now.getTime())) return now;
  io.err(`covenant hub ${command}: --now wants an ISO 8601 instant`);
  return EXIT.policyError;
}

export function addHubEvidenceCommands(hub: Command, io: Io, setExit: (code: number) => void, version: string, configHelp: string): void {
  common(hub.command("report").description("the fleet's evidence report over a period, from what the hosts pushed: each control across the hosts, each host's chain as the hub judged it, and the hub's receive time beside each host's clock"), configHelp)
    .addOption(new Option("--format <format>", "output format").choices(["html", "json", "csv", "md"]).default("html"))
    .option("--out <dir>", "write the file(s) into this directory (made if missing) rather than to stdout")
    .addHelpText("after", "\nExamples:\n  covenant hub report --from 2026-01-01 --to 2026-03-31 --group payments --out q1\n  covenant hub report --from 2026-01-01 --to 2026-12-31 --control ITGC-CM-02 --format json\n\nExit codes: 0 made, 2 bad dates or options, no host in the group, an unknown control, a configuration or database that cannot be used.")
    .action(async (o: Common & { format: "html" | "json" | "csv" | "md"; out?: string }) => {
      const now = nowOf(o, io, "report");
      if (typeof now === "number") return setExit(now);
      setExit(await (await hubEvidence()).runHubReport({ ...pick(o, version), format: o.format, ...(o.out !== undefined ? { out: o.out } : {}), ...(now ? { now } : {}) }, io));
    });
  common(hub.command("evidence").description("the fleet's evidence pack over a period, signed with the hub's key: the reports, each host's records as pushed with the hub's receive time, the policy versions the hosts ran"), configHelp)
    .requiredOption("--out <dir>", "the pack's directory (new, or empty); the archive is written beside it as DIR.tar.gz")
    .option("--json", "print the manifest as JSON", false)
    .addHelpText("after", "\nExamples:\n  covenant hub evidence --from 2026-01-01 --to 2026-03-31 --group payments --out /srv/audit/payments-2026Q1\n  covenant evidence verify /srv/audit/payments-2026Q1.tar.gz --public-key hub.pub.pem\n\nExit codes: 0 written, 2 bad dates or options, no host in the group, a pack that cannot be written, a configuration,\nkey or database that cannot be used.")
    .action(async (o: Common & { out: string; json: boolean }) => {
      const now = nowOf(o, io, "evidence");
      if (typeof now === "number") return setExit(now);
      setExit(await (await hubEvidence()).runHubEvidence({ ...pick(o, version), out: o.out, json: o.json, ...(now ? { now } : {}) }, io));
    });
  hub
    .command("key")
    .description("the hub's Ed25519 signing key (it signs policy versions and fleet evidence packs)")
    .command("export")
    .description("print the public half of the hub's signing key (PEM) for auditors; its fingerprint goes to stderr")
    .option("--config <file>", configHelp)
    .option("--out <file>", "write the PEM to this new file (never over one that exists, never through a link)")
    .addHelpText("after", "\nExamples:\n  covenant hub key export --out hub.pub.pem\n\nExit codes: 0 printed, 2 no configuration, no key yet (`covenant hub serve` makes it), a file that cannot be written.")
    .action(async (o: { config?: string; out?: string }) => setExit((await hubEvidence()).runHubKeyExport(o, io)));
}

function pick(o: Common, generator: string) {
  return { from: o.from, to: o.to, controls: o.control, generator, ...(o.config !== undefined ? { config: o.config } : {}), ...(o.group !== undefined ? { group: o.group } : {}), ...(o.tz !== undefined ? { tz: o.tz } : {}) };
}
