// `covenant hub ...`: commander wiring for the fleet hub's commands; the work is in commands/hub*.ts,
// loaded only when run (the bundle is split per command, and `hub init` alone loads the x509 library).
import { Option, type Command } from "commander";
import { escapeText } from "./escape.js";
import { EXIT } from "./exit-codes.js";
import { addHubEvidenceCommands } from "./hub-evidence-command.js";
import type { Io } from "./io.js";

const hubCommand = () => import("./commands/hub.js");
const hubInitCommand = () => import("./commands/hub-init.js");
const hubUsers = () => import("./commands/hub-users.js");
const hubPolicy = () => import("./commands/hub-policy.js");
const hubDecisions = () => import("./commands/hub-decisions.js");

/** Where `hub init` writes unless told (commands/hub-init.ts is not loaded to build the help). */
const DEFAULT_HUB_TLS_DIR = "/etc/covenant/hub/tls";

export function addHubCommands(program: Command, io: Io, setExit: (code: number) => void, version = "0.0.0-dev"): void {
  const hub = program.command("hub").description("the fleet hub: every host's record in PostgreSQL, served over HTTPS (docs/hub.md)");
  addInitCommand(hub, io, setExit);
  addServerCommands(hub, io, setExit);
  addHostCommands(hub, io, setExit);
  addUserCommands(hub, io, setExit, CONFIG, CONFIG_HELP);
  addDecisionCommands(hub, io, setExit, CONFIG, CONFIG_HELP);
  addHubEvidenceCommands(hub, io, setExit, version, CONFIG_HELP);
}

/** The option every command on the hub's machine takes. */
const CONFIG = "--config <file>";
const CONFIG_HELP = "the hub's configuration (default /etc/covenant/hub/hub.yaml; else DATABASE_URL for the database)";

/** `hub init`: the private CA and the hub's certificate. */
function addInitCommand(hub: Command, io: Io, setExit: (code: number) => void): void {
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

/** `hub serve` and `hub migrate`: the server, and the schema it needs. */
function addServerCommands(hub: Command, io: Io, setExit: (code: number) => void): void {
  hub
    .command("serve")
    .description("serve the hub over HTTPS, applying its schema migrations first")
    .option(CONFIG, CONFIG_HELP)
    .addHelpText("after", "\nStateless: run as many as the load needs, against one database, behind any load balancer.\n\nExamples:\n  covenant hub serve --config /etc/covenant/hub/hub.yaml\n\nExit codes: 0 stopped by SIGTERM or SIGINT, 2 a configuration or database that cannot be used.")
    .action(async (o: { config?: string }) => setExit(await (await hubCommand()).runHubServe(o, io)));
  hub
    .command("migrate")
    .description("apply the hub's schema migrations the database lacks (`hub serve` does as it starts; no other command does)")
    .option(CONFIG, CONFIG_HELP)
    .addHelpText("after", "\nRun it before the first `hub user add` of a new installation, and after upgrading Covenant on the hub.\n\nExamples:\n  covenant hub migrate --config /etc/covenant/hub/hub.yaml\n\nExit codes: 0 up to date, 2 a configuration or database that cannot be used, or a schema newer than this hub's.")
    .action(async (o: { config?: string }) => setExit(await (await hubCommand()).runHubMigrate(o, io)));
}

/** Enrolment tokens, the hosts, and their incidents: what an administrator does on the hub's machine. */
function addHostCommands(hub: Command, io: Io, setExit: (code: number) => void): void {
  hub
    .command("token")
    .description("make a one-time enrolment token for a host (printed once; the hub keeps only its hash)")
    .option(CONFIG, CONFIG_HELP)
    .option("--valid <duration>", "how long it may be used", "24h")
    .option("--group <name>", "the host group the enrolled host joins")
    .option("--note <text>", "what it is for (kept with the token)")
    .option("--json", "print it as JSON", false)
    .addHelpText("after", "\nExamples:\n  covenant hub token --valid 2h --group payments > /root/enroll.token\n\nExit codes: 0 made, 2 a configuration or database that cannot be used, a bad duration.")
    .action(async (o: { config?: string; valid: string; group?: string; note?: string; json: boolean }) => setExit(await (await hubCommand()).runHubToken(o, io)));
  hub
    .command("hosts")
    .description("list the enrolled hosts: records held, last push, clock, chain status")
    .option(CONFIG, CONFIG_HELP)
    .option("--json", "print JSON", false)
    .action(async (o: { config?: string; json: boolean }) => setExit(await (await hubCommand()).runHubHosts(o, io)));
  hub
    .command("revoke")
    .description("revoke a host's enrolment (by id or name): the hub takes nothing more from it")
    .argument("<host>", "the host's id or name")
    .option(CONFIG, CONFIG_HELP)
    .option("--reason <text>", "why (kept in the hub's audit log)")
    .action(async (host: string, o: { config?: string; reason?: string }) => setExit(await (await hubCommand()).runHubRevoke(host, o, io)));
  hub
    .command("incidents")
    .description("list hosts' chain and clock incidents: forks, rollbacks, records never sent, clocks off the hub's")
    .option(CONFIG, CONFIG_HELP)
    .option("--all", "the resolved ones too", false)
    .option("--json", "print JSON", false)
    .action(async (o: { config?: string; all: boolean; json: boolean }) => setExit(await (await hubCommand()).runHubIncidents(o, io)));
  hub
    .command("resolve")
    .description("resolve an incident, saying why (kept in the hub's audit log)")
    .argument("<incident>", "the incident's number (covenant hub incidents)")
    .option(CONFIG, CONFIG_HELP)
    .option("--reason <text>", "why it is resolved")
    .action(async (id: string, o: { config?: string; reason?: string }) => setExit(await (await hubCommand()).runHubResolve(id, o, io)));
  hub
    .command("accept")
    .description("accept a host's history as it is now, after its chain was found in doubt and the cause is known: the hub keeps what it held and the host sends its history anew")
    .argument("<host>", "the host's id or name")
    .option(CONFIG, CONFIG_HELP)
    .option("--reason <text>", "why (kept in the hub's audit log)")
    .action(async (host: string, o: { config?: string; reason?: string }) => setExit(await (await hubCommand()).runHubAccept(host, o, io)));
}

function addDecisionCommands(hub: Command, io: Io, setExit: (code: number) => void, config: string, configHelp: string): void {
  hub
    .command("deficiencies")
    .description("a host's deficiencies as its records say, with the ids the host gives them")
    .argument("<host>", "the host's id or name")
    .option(config, configHelp)
    .option("--all", "resolved ones too", false)
    .option("--json", "JSON", false)
    .action(async (host: string, o: { config?: string; all: boolean; json: boolean }) => setExit(await (await hubDecisions()).runHubDeficiencies(host, o, io)));
  hub
    .command("ack")
    .description("acknowledge a host's open deficiency from the hub: it reaches the host with its next push reply (docs/hub-push.md)")
    .argument("<host>", "the host's id or name")
    .argument("<deficiency>", "the deficiency's id (covenant hub deficiencies HOST)")
    .option(config, configHelp)
    .option("--reason <text>", "why (kept on the hub and on the host)")
    .option("--by <name>", "who acknowledges (default: the user running this)")
    .action(async (host: string, deficiency: string, o: { config?: string; reason?: string; by?: string }) => setExit(await (await hubDecisions()).runHubAck(host, deficiency, o, io)));
  hub
    .command("approve-change")
    .description("approve the state an integrity promise of a host was found in: the host re-baselines it with its next push, only while it still observes that state")
    .argument("<host>", "the host's id or name")
    .argument("<promise>", "the promise's key (covenant hub deficiencies HOST)")
    .option(config, configHelp)
    .option("--record <n>", "the change record that reported the state (covenant hub deficiencies HOST)")
    .option("--reason <text>", "why, such as a change ticket")
    .option("--by <name>", "who approves (default: the user running this)")
    .action(async (host: string, promise: string, o: { config?: string; record?: string; reason?: string; by?: string }) => setExit(await (await hubDecisions()).runHubApproveChange(host, promise, o, io)));
  hub
    .command("waive")
    .description("waive a control on a host or every host of a group, from a date until a date: each host honours it from its next run")
    .argument("<control>", "the control's id")
    .option(config, configHelp)
    .option("--host <host>", "one host (id or name)")
    .option("--group <group>", "every host of a host group")
    .option("--from <date>", "YYYY-MM-DD (default: at once)")
    .option("--until <date>", "YYYY-MM-DD, in the hosts' calendar zone")
    .option("--reason <text>", "why the risk is accepted")
    .option("--by <name>", "who accepts the risk (default: the user running this)")
    .action(async (control: string, o: { config?: string; host?: string; group?: string; from?: string; until?: string; reason?: string; by?: string }) => setExit(await (await hubDecisions()).runHubWaive(control, o, io)));
  hub
    .command("withdraw")
    .description("withdraw a decision no push reply has carried yet")
    .argument("<decision>", "the decision's number (covenant hub decisions)")
    .option(config, configHelp)
    .action(async (id: string, o: { config?: string }) => setExit(await (await hubDecisions()).runHubWithdraw(id, o, io)));
  hub
    .command("decisions")
    .description("decisions given on the hub, newest first: pending, delivered, applied or refused by the host")
    .option(config, configHelp)
    .option("--host <host>", "one host (id or name)")
    .option("--state <state>", "pending, delivered, applied, refused or withdrawn")
    .option("--json", "JSON", false)
    .action(async (o: { config?: string; host?: string; state?: string; json: boolean }) => setExit(await (await hubDecisions()).runHubDecisions(o, io)));
}

function addUserCommands(hub: Command, io: Io, setExit: (code: number) => void, config: string, configHelp: string): void {
  const user = hub.command("user").description("the hub's people: users, their roles, API tokens (docs/hub-people.md)");
  const collect = (v: string, prev: string[]) => [...prev, v];
  user
    .command("add")
    .description("make a user (the first administrator is made this way, on the hub's machine)")
    .argument("<name>", "the user name: 1 to 64 of a-z, 0-9, '.', '_', '@', '-'")
    .option(config, configHelp)
    .option("--grant <role[=scope]>", "a role, with its scope where it has one: administrator, author, approver, auditor, operations=group:NAME, owner=owner:NAME, owner=control:ID (repeatable)", collect, [])
    .option("--display-name <text>", "the name shown for the user")
    .option("--password-file <file>", "the password, in a file no other user may read (mode 600); without it, read from stdin (a pipe)")
    .addHelpText("after", "\nThe password is never taken on the command line. At least 12 characters; one trailing newline is taken off.\n\nExamples:\n  covenant hub user add alice --grant administrator --password-file /root/alice.pw\n  pwgen -s 24 1 | tee /dev/tty | covenant hub user add bob --grant operations=group:payments\n\nExit codes: 0 made, 2 a bad name, grant or password, a user of that name, a database that cannot be used.")
    .action(async (name: string, o: { config?: string; grant: string[]; displayName?: string; passwordFile?: string }) => setExit(await (await hubUsers()).runUserAdd(name, o, io)));
  user
    .command("list")
    .description("list the users, their grants (with each grant's number) and whether disabled")
    .option(config, configHelp)
    .option("--json", "print JSON", false)
    .action(async (o: { config?: string; json: boolean }) => setExit(await (await hubUsers()).runUserList(o, io)));
  user
    .command("grant")
    .description("grant a user a role")
    .argument("<name>", "the user")
    .argument("<role[=scope]>", "administrator, author, approver, auditor, operations=group:NAME, owner=owner:NAME or owner=control:ID")
    .option(config, configHelp)
    .action(async (name: string, grant: string, o: { config?: string }) => setExit(await (await hubUsers()).runUserGrant(name, grant, o, io)));
  user
    .command("disable")
    .description("disable a user: their sessions end and their API tokens stop working")
    .argument("<name>", "the user")
    .option(config, configHelp)
    .option("--reason <text>", "why (kept in the hub's audit log)")
    .action(async (name: string, o: { config?: string; reason?: string }) => setExit(await (await hubUsers()).runUserDisable(name, o, io)));
  user
    .command("token")
    .description("make an API token for a user, acting with the user's grants (printed once; the hub keeps only its hash)")
    .argument("<user>", "the user it acts for")
    .requiredOption("--name <text>", "what it is for (shown in the user's list of tokens)")
    .option(config, configHelp)
    .option("--valid <duration>", "how long it may be used (default: until revoked)")
    .option("--json", "print it as JSON", false)
    .action(async (name: string, o: { config?: string; name: string; valid?: string; json: boolean }) => setExit(await (await hubUsers()).runUserToken(name, o, io)));
  const remote = (c: Command) =>
    c
      .requiredOption("--hub <url>", "the hub's address, such as https://hub.example.com:8443")
      .requiredOption("--ca <file>", "the hub's CA certificate (ca.pem): the only CA trusted")
      .option("--token-file <file>", "a file holding your API token (covenant hub user token); or COVENANT_HUB_TOKEN")
      .option("--json", "print the hub's answer as JSON", false);
  remote(
    hub
      .command("publish")
      .description("publish a policy version to the hub (as a policy author): checked there as `covenant check` would, held for a second person's approval where required")
      .argument("<dir>", "the policy's directory: every .promise file under it")
      .option("--message <text>", "what changed and why (kept with the version)")
      .option("--group <name>", "the host group it is for (every host when absent)"),
  )
    .addHelpText("after", "\nExit codes: 0 published, 2 the policy has errors (each printed as file:line:col) or bad arguments, 4 no answer from the hub, 5 the hub refused.")
    .action(async (dir: string, o: { hub: string; ca: string; tokenFile?: string; json: boolean; message?: string; group?: string }) => setExit(await (await hubPolicy()).runHubPublish(dir, o, io)));
  for (const decision of ["approve", "reject"] as const) {
    remote(
      hub
        .command(decision)
        .description(decision === "approve" ? "approve a pending policy version (as an approver; never your own): the hub signs it and puts it in force" : "reject a pending policy version (as an approver), saying why")
        .argument("<version>", "the version's number")
        .option("--reason <text>", decision === "approve" ? "why (kept in the audit log)" : "why (required)"),
    ).action(async (id: string, o: { hub: string; ca: string; tokenFile?: string; json: boolean; reason?: string }) => setExit(await (await hubPolicy()).runHubDecide(id, decision, o, io)));
  }
}
