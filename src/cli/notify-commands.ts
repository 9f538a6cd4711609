// The notification commands: `deficiencies`, `ack`, `outbox`, `notify flush`, `notify test`.
// Each loads its module only when run (the bundle is split per command).
import { Option, type Command } from "commander";
import { defaultRoots } from "../probes/result.js";
import { escapeText } from "./escape.js";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";

const deficienciesCommand = () => import("./commands/deficiencies.js");
const outboxCommand = () => import("./commands/outbox.js");
const notifyCommand = () => import("./commands/notify.js");

export function addNotifyCommands(program: Command, io: Io, setExit: (code: number) => void, parseDuration: (text: string) => number | undefined): void {
  program
    .command("deficiencies")
    .description("list open deficiencies (promises in drift, failed or error), with their ids for `ack`")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--all", "resolved deficiencies and repair notices too", false)
    .option("--json", "print them as JSON", false)
    .addHelpText("after", "\nReads the store without changing it.\n\nExit codes: 0 none open, 1 deficiencies open, 2 no store or it cannot be read.")
    .action(async (o: { state?: string; all: boolean; json: boolean }) => setExit((await deficienciesCommand()).runDeficiencies(o, io)));

  program
    .command("ack")
    .description("acknowledge a deficiency: escalation stops, and who acknowledged it and why is kept in the history")
    .argument("<id>", "the deficiency's id, or enough of it to be unique (from `covenant deficiencies`)")
    .requiredOption("--reason <text>", "why: the ticket or the work under way (kept in the history and shown in later messages)")
    .option("--by <name>", "the person acknowledging (default: the operating-system user)")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--json", "print the acknowledged deficiency as JSON", false)
    .addHelpText("after", "\nExamples:\n  covenant ack d-7k3q --reason 'CHG-1234: port closed tonight' --by alice\n\nExit codes: 0 acknowledged, 2 no such deficiency, it is resolved, or the store cannot be written.")
    .action(async (id: string, o: { reason: string; by?: string; state?: string; json: boolean }) => setExit(await (await deficienciesCommand()).runAck(id, o, io)));

  program
    .command("outbox")
    .description("messages waiting to be delivered, retrying or given up, and why")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--all", "delivered messages too", false)
    .option("--json", "print them as JSON", false)
    .addHelpText("after", "\nReads the store without changing it.\n\nExit codes: 0 nothing given up, 1 messages given up, 2 no store or it cannot be read.")
    .action(async (o: { state?: string; all: boolean; json: boolean }) => setExit((await outboxCommand()).runOutbox(o, io)));

  const notify = program.command("notify").description("deliver what is due, or test a stakeholder's channels");
  notify
    .command("flush")
    .description("route what the store holds and deliver what is due (retries, reminders, escalations)")
    .option("--config <file>", "the notification configuration (default: /etc/covenant/covenant.yaml as root, else ./covenant.yaml)")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--budget <duration>", "how long delivery may take (default: the configuration's delivery.budget)")
    .option("--etc-root <dir>", "read /etc/os-release and friends from here (host facts for routes)", defaultRoots.etc)
    .option("--json", "print what was delivered as JSON", false)
    .addOption(new Option("--now <instant>", "route as if it were this instant (ISO 8601)").hideHelp())
    .addHelpText("after", "\nExit codes: 0 nothing failed (what the budget did not reach stays due), 1 something failed (retried later, or given up) or a channel is unusable,\n2 no or bad configuration, no store, or another run holds the lock.")
    .action(async (o: { config?: string; state?: string; budget?: string; etcRoot: string; json: boolean; now?: string }) => {
      const budgetMs = o.budget === undefined ? undefined : parseDuration(o.budget);
      const now = o.now === undefined ? undefined : new Date(o.now);
      if (now && Number.isNaN(now.getTime())) {
        io.err(`covenant notify flush: --now wants an ISO 8601 instant, got \`${escapeText(String(o.now))}\``);
        return setExit(EXIT.policyError);
      }
      if (o.budget !== undefined && (budgetMs === undefined || budgetMs < 0 || budgetMs > 3_600_000)) {
        io.err(`covenant notify flush: --budget wants a duration up to 1h, such as 30s, got \`${escapeText(String(o.budget))}\``);
        return setExit(EXIT.policyError);
      }
      const opts: import("./commands/notify.js").FlushOptions = { json: o.json, etcRoot: o.etcRoot };
      if (o.config !== undefined) opts.config = o.config;
      if (o.state !== undefined) opts.state = o.state;
      if (budgetMs !== undefined) opts.budgetMs = budgetMs;
      if (now) opts.now = now;
      setExit(await (await notifyCommand()).runNotifyFlush(opts, io));
    });
  notify
    .command("test")
    .description("send a test message through each of a stakeholder's channels and say what each did")
    .requiredOption("--to <stakeholder>", "the stakeholder (a name under `stakeholders:` in the configuration)")
    .option("--channel <name>", "only this channel of theirs")
    .option("--config <file>", "the notification configuration (as for `notify flush`)")
    .option("--json", "print the results as JSON", false)
    .addHelpText("after", "\nExamples:\n  covenant notify test --to security\n  covenant notify test --to dba_oncall --channel sms\n\nExit codes: 0 every channel delivered, 1 one failed (what it said is printed), 2 no or bad configuration, or no such stakeholder or channel.")
    .action(async (o: { to: string; channel?: string; config?: string; json: boolean }) => setExit(await (await notifyCommand()).runNotifyTest(o, io)));
}
