// `covenant hub ...`: commander wiring; the work is in commands/hub.ts, loaded only when run.
import type { Command } from "commander";
import type { Io } from "./io.js";

const hubCommand = () => import("./commands/hub.js");

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
  hub
    .command("incidents")
    .description("list hosts' chain and clock incidents: forks, rollbacks, records never sent, clocks off the hub's")
    .option(config, configHelp)
    .option("--all", "the resolved ones too", false)
    .option("--json", "print JSON", false)
    .action(async (o: { config?: string; all: boolean; json: boolean }) => setExit(await (await hubCommand()).runHubIncidents(o, io)));
  hub
    .command("resolve")
    .description("resolve an incident, saying why (kept in the hub's audit log)")
    .argument("<incident>", "the incident's number (covenant hub incidents)")
    .option(config, configHelp)
    .option("--reason <text>", "why it is resolved")
    .action(async (id: string, o: { config?: string; reason?: string }) => setExit(await (await hubCommand()).runHubResolve(id, o, io)));
  hub
    .command("accept")
    .description("accept a host's history as it is now, after its chain was found in doubt and the cause is known: the hub keeps what it held and the host sends its history anew")
    .argument("<host>", "the host's id or name")
    .option(config, configHelp)
    .option("--reason <text>", "why (kept in the hub's audit log)")
    .action(async (host: string, o: { config?: string; reason?: string }) => setExit(await (await hubCommand()).runHubAccept(host, o, io)));
}
