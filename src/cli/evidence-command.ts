// `covenant key export|rotate` and `covenant evidence [verify]`: commander wiring; the work is in
// commands/key.ts and commands/evidence.ts, loaded only when run (the bundle is split per command).
import { Option, type Command } from "commander";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";

const keyCommand = () => import("./commands/key.js");
const evidenceCommand = () => import("./commands/evidence.js");

export function addEvidenceCommands(program: Command, io: Io, setExit: (code: number) => void, version: string): void {
  const key = program.command("key").description("the host's Ed25519 signing key, which signs evidence packs");
  key
    .command("export")
    .description("print the public half of the signing key (PEM), making the key at first use; its fingerprint goes to stderr")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--out <file>", "write the PEM to this new file (never over one that exists, never through a link)")
    .addHelpText("after", "\nExamples:\n  covenant key export --out /tmp/ledger01.pub.pem\n  covenant key export | openssl pkey -pubin -noout -text\n\nExit codes: 0 printed, 2 no store in the state directory, a key that cannot be used, or a file that cannot be written.")
    .action(async (o: { state?: string; out?: string }) => setExit((await keyCommand()).runKeyExport(o, io)));
  key
    .command("rotate")
    .description("replace the signing key (a rotation record signed by the old key and the new goes into the history, then the old private key is removed), or with --host the host key of the history's chain")
    .option("--signing", "rotate the signing key (the default)", false)
    .option("--host", "rotate the host key (host.key, the HMAC key of the history's chain and its seals); the old key is kept in host.key.retired to verify the records it MAC'd", false)
    .option("--reason <text>", "why, such as a ticket or 'key compromised' (kept in the history)")
    .option("--by <name>", "who rotates (kept in the history; default: the operating-system user)")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--json", "print what was recorded as JSON", false)
    .addOption(new Option("--now <instant>", "record this instant (ISO 8601)").hideHelp())
    .addHelpText("after", "\nExamples:\n  covenant key rotate --reason 'CHG-2231 yearly rotation' --by 'Alice Admin'\n  covenant key rotate --host --reason 'INC-77 host key exposed in a backup'\n\nExit codes: 0 rotated (or an unfinished rotation finished), 2 no store or no signing key yet, a history that does not verify (--host), a host key kept elsewhere (--host), or the lock held.")
    .action(async (o: { state?: string; reason?: string; by?: string; signing: boolean; host: boolean; json: boolean; now?: string }) => {
      if (o.signing && o.host) {
        io.err("covenant key rotate: give --signing or --host, not both");
        return setExit(EXIT.policyError);
      }
      const now = o.now !== undefined ? new Date(o.now) : undefined;
      if (now && Number.isNaN(now.getTime())) {
        io.err("covenant key rotate: --now wants an ISO 8601 instant");
        return setExit(EXIT.policyError);
      }
      const { now: _text, ...rest } = o;
      setExit(await (await keyCommand()).runKeyRotate({ ...rest, ...(now ? { now } : {}) }, io));
    });

  const evidence = program
    .command("evidence")
    .description("write the signed evidence pack of a period: the history extract, the policy versions in force, a manifest and its Ed25519 signature")
    .option("--from <date>", "the first day of the period (YYYY-MM-DD)")
    .option("--to <date>", "the last day of the period, included (YYYY-MM-DD)")
    .option("--out <dir>", "the pack's directory (new, or empty); the archive is written beside it as DIR.tar.gz")
    .option("--tz <zone>", "read the days in this time zone (default: the policy calendar's, else the host's)")
    .option("--state <dir>", "state directory (as for `run`)")
    .option("--json", "print the manifest as JSON", false)
    .addOption(new Option("--now <instant>", "the instant the pack says it was made (ISO 8601)").hideHelp())
    .addHelpText(
      "after",
      "\nReads the store without changing it (the signing key is made at first use). docs/evidence.md says what a pack proves.\n\nExamples:\n  covenant evidence --from 2026-01-01 --to 2026-03-31 --out /srv/audit/ledger01-2026Q1\n  covenant evidence verify /srv/audit/ledger01-2026Q1.tar.gz --public-key ledger01.pub.pem\n\nExit codes: 0 written, 1 written, but the store failed its verification (the pack says so), 2 bad dates or zone,\nno store, a key that cannot be used, or a pack that cannot be written (an existing non-empty --out).",
    )
    .action(async (o: { from?: string; to?: string; out?: string; tz?: string; state?: string; json: boolean; now?: string }) => {
      const missing = (["from", "to", "out"] as const).filter((k) => o[k] === undefined);
      if (missing.length > 0) {
        io.err(`covenant evidence: ${missing.map((k) => `--${k}`).join(", ")} ${missing.length === 1 ? "is" : "are"} required (or \`covenant evidence verify PACK --public-key FILE\`)`);
        return setExit(EXIT.policyError);
      }
      const now = o.now !== undefined ? new Date(o.now) : undefined;
      if (now && Number.isNaN(now.getTime())) {
        io.err("covenant evidence: --now wants an ISO 8601 instant");
        return setExit(EXIT.policyError);
      }
      const opts: import("./commands/evidence.js").EvidenceOptions = { from: o.from!, to: o.to!, out: o.out!, json: o.json, ...(o.tz !== undefined ? { tz: o.tz } : {}), ...(o.state !== undefined ? { state: o.state } : {}), ...(now ? { now } : {}), generator: version };
      setExit(await (await evidenceCommand()).runEvidence(opts, io));
    });
  evidence
    .command("verify")
    .description("check a pack (its directory or its .tar.gz) with the host's public key alone")
    .argument("<pack>", "the pack's directory or PACK.tar.gz")
    .option("--public-key <file>", "the host's public signing key (PEM), obtained by another channel: never the pack's own copy")
    .option("--json", "print the verdict as JSON", false)
    .option("--max-unpacked <size>", "refuse a pack whose files come to more than this, such as 512GiB (read as a stream: a bound on time, not memory)", "256GiB")
    .addHelpText("after", "\nExamples:\n  covenant evidence verify ledger01-2026Q1.tar.gz --public-key ledger01.pub.pem\n  covenant evidence verify payments-2026.tar.gz --public-key hub.pub.pem --max-unpacked 1TiB\n\nExit codes: 0 intact, 1 something in the pack is not as signed (each problem named), 2 no --public-key, a key\nthat cannot be read, or a pack that cannot be read or is refused (links, names that climb out).")
    // commander gives `--json` to `evidence` itself, which has one too, wherever it is written
    .action(async (pack: string, o: { publicKey?: string; json: boolean; maxUnpacked: string }) => setExit(await (await evidenceCommand()).runEvidenceVerify(pack, { ...o, json: o.json || evidence.opts<{ json: boolean }>().json }, io)));
}
