// `covenant integrity init` and `covenant approve`: commander wiring; the work is in
// commands/integrity.ts, loaded only when run (the bundle is split per command).
import type { Command } from "commander";
import type { Io } from "./io.js";

const integrityCommand = () => import("./commands/integrity.js");

interface Flags {
  state?: string;
  policy: string[];
  include: string[];
  reason?: string;
  by?: string;
  json: boolean;
}

const repeatable = (v: string, prev: string[]) => [...prev, v];

function options(o: Flags): import("./commands/integrity.js").ApproveOptions {
  const out: import("./commands/integrity.js").ApproveOptions = { policy: o.policy, include: o.include, json: o.json };
  if (o.state !== undefined) out.state = o.state;
  if (o.reason !== undefined) out.reason = o.reason;
  if (o.by !== undefined) out.by = o.by;
  return out;
}

export function addIntegrityCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  const integrity = program.command("integrity").description("the approved integrity state of the policy's integrity promises (as AIDE's database)");
  integrity
    .command("init")
    .description("record the approved state of every integrity promise's paths, or of the named controls or paths, as `aide --init` does")
    .argument("[targets...]", "controls, or absolute paths under an integrity promise (default: every integrity promise)")
    .option("--policy <path>", "a policy file or directory (repeatable; default: the current directory)", repeatable, [] as string[])
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--reason <text>", "why (kept in the history)")
    .option("--by <name>", "who approves (kept in the history; default: the operating-system user)")
    .option("--include <dir>", "a directory whose .promise files may be imported (repeatable)", repeatable, [] as string[])
    .option("--json", "print what was recorded as JSON", false)
    .addHelpText("after", "\nExamples:\n  covenant integrity init --policy /etc/covenant/policies\n  covenant integrity init SOX-ITGC-07 --policy /etc/covenant/policies --reason 'new ledger host'\n\nExit codes: 0 recorded, 2 policy or store error, a name that is no integrity promise's, or the lock held.")
    .action(async (targets: string[], o: Flags) => setExit(await (await integrityCommand()).runIntegrityInit(targets, options(o), io)));

  program
    .command("approve")
    .description("accept the current state of an integrity promise's paths as approved: its state, its content, and its `baseline` copy")
    .argument("<target>", "a control, or an absolute path under an integrity promise")
    .requiredOption("--reason <text>", "why, such as the change ticket (kept in the history)")
    .option("--by <name>", "who approves (kept in the history; default: the operating-system user)")
    .option("--policy <path>", "a policy file or directory (repeatable; default: the current directory)", repeatable, [] as string[])
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--include <dir>", "a directory whose .promise files may be imported (repeatable)", repeatable, [] as string[])
    .option("--json", "print what was approved as JSON", false)
    .addHelpText("after", "\nExamples:\n  covenant approve /srv/ledger/gl.dat --reason 'CHG-1234 year-end close' --by 'Alice Admin' --policy /etc/covenant/policies\n\nExit codes: 0 approved, 2 policy or store error, no --reason, a target that is no integrity promise's, or the lock held.")
    .action(async (target: string, o: Flags) => setExit(await (await integrityCommand()).runApprove(target, options(o), io)));
}
