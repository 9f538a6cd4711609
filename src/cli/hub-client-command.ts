// `covenant enroll` and `covenant push`: the host's side of the fleet hub. Commander wiring; the
// work is in commands/enroll.ts and commands/push.ts, loaded only when run.
import type { Command } from "commander";
import type { Io } from "./io.js";

const enrollCommand = () => import("./commands/enroll.js");
const pushCommand = () => import("./commands/push.js");

export function addHubClientCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command("enroll")
    .description("register this host's signing key with the fleet hub, with a one-time token from `covenant hub token`")
    .argument("<url>", "the hub's address, such as https://hub.example.com:8443")
    .option("--token <token>", "the one-time enrolment token (or --token-file, or COVENANT_ENROLL_TOKEN)")
    .option("--token-file <file>", "read the token from this file")
    .requiredOption("--ca <file>", "the hub's CA certificate (PEM): the only CA trusted for the hub")
    .option("--name <name>", "the name the hub shows for this host (default: the host name)")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--again", "enroll again, though this host is enrolled (the hub knows it under a new host id)", false)
    .option("--json", "print the enrolment as JSON", false)
    .addHelpText(
      "after",
      "\nKeeps the enrolment in the state directory (hub.json, and the CA as hub-ca.pem); the token is never printed or kept.\n\nExamples:\n  COVENANT_ENROLL_TOKEN=… covenant enroll https://hub.example.com:8443 --ca /etc/covenant/hub-ca.pem\n\nExit codes: 0 enrolled, 2 bad arguments, already enrolled (without --again), the state cannot be used, or the hub's\ncertificate is not one the CA given signed,\n4 the hub unreachable, 5 the hub refused (a token used, expired or unknown).",
    )
    .action(async (url: string, o: { token?: string; tokenFile?: string; ca: string; name?: string; state?: string; again: boolean; json: boolean }) => setExit(await (await enrollCommand()).runEnroll(url, o, io)));

  program
    .command("push")
    .description("send the fleet hub the records it does not hold yet, in order, signed")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--json", "print the outcome as JSON", false)
    .addHelpText(
      "after",
      "\nEvery run pushes after it (unless --no-push), and the watcher at most every 30 s: this is for catching up by hand.\n\nExit codes: 0 the hub holds every record, 2 not enrolled or the store cannot be read (or a record fails its check),\n4 the hub unreachable (the records wait; they are sent later), 5 the hub refused (a fork, a rollback, or a position\nthe host cannot match).",
    )
    .action(async (o: { state?: string; json: boolean }) => setExit(await (await pushCommand()).runPush(o, io)));
}
