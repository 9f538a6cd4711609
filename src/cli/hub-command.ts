// `covenant hub ...`: commander wiring; the work is in commands/hub.ts, loaded only when run.
import type { Command } from "commander";
import type { Io } from "./io.js";

const hubCommand = () => import("./commands/hub.js");
const hubUsers = () => import("./commands/hub-users.js");

export function addHubCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  const hub = program.command("hub").description("the fleet hub: every host's record in PostgreSQL (docs/hub.md)");
  const config = "--config <file>";
  const configHelp = "the hub's configuration (default /etc/covenant/hub/hub.yaml; else DATABASE_URL for the database)";
  hub
    .command("serve")
    .description("serve the hub over HTTPS, applying its schema migrations first")
    .option(config, configHelp)
    .addHelpText("after", "\nStateless: run as many as the load needs, against one database, behind any load balancer.\n\nExamples:\n  covenant hub serve --config /etc/covenant/hub/hub.yaml\n\nExit codes: 0 stopped by SIGTERM or SIGINT, 2 a configuration or database that cannot be used.")
    .action(async (o: { config?: string }) => setExit(await (await hubCommand()).runHubServe(o, io)));
  hub
    .command("token")
    .description("make a one-time enrolment token for a host (printed once; the hub keeps only its hash)")
    .option(config, configHelp)
    .option("--valid <duration>", "how long it may be used", "24h")
    .option("--group <name>", "the host group the enrolled host joins")
    .option("--note <text>", "what it is for (kept with the token)")
    .option("--json", "print it as JSON", false)
    .addHelpText("after", "\nExamples:\n  covenant hub token --valid 2h --group payments > /root/enroll.token\n\nExit codes: 0 made, 2 a configuration or database that cannot be used, a bad duration.")
    .action(async (o: { config?: string; valid: string; group?: string; note?: string; json: boolean }) => setExit(await (await hubCommand()).runHubToken(o, io)));
  hub
    .command("hosts")
    .description("list the enrolled hosts: records held, last push, clock, chain status")
    .option(config, configHelp)
    .option("--json", "print JSON", false)
    .action(async (o: { config?: string; json: boolean }) => setExit(await (await hubCommand()).runHubHosts(o, io)));
  hub
    .command("revoke")
    .description("revoke a host's enrolment (by id or name): the hub takes nothing more from it")
    .argument("<host>", "the host's id or name")
    .option(config, configHelp)
    .option("--reason <text>", "why (kept in the hub's audit log)")
    .action(async (host: string, o: { config?: string; reason?: string }) => setExit(await (await hubCommand()).runHubRevoke(host, o, io)));
  addUserCommands(hub, io, setExit, config, configHelp);
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
}
