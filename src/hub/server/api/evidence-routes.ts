// The fleet's evidence pack for auditors and administrators (evidence.export): the period, host
// group and controls from the query; the pack written from the database (hub/evidence/fleet-pack.ts)
// into a private temporary directory of the hub's (0700, made by mkdtemp), its .tar.gz opened and
// the directory removed at once (on failure too), then the archive sent from the open file: the
// pack is never held in memory, and nothing of it is left on disk once the download ends or is
// cut. The export is recorded in the audit log before the first byte is sent, with the manifest's
// sha256 (what the auditor received can be matched to the log).
import { closeSync, constants, createReadStream, fstatSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { periodOf, PeriodError } from "../../../facts/period.js";
import { AccessInputError } from "../../auth/users.js";
import { writeFleetPack } from "../../evidence/fleet-pack.js";
import { FleetReportError, reportedHosts } from "../../evidence/fleet-report.js";
import type { Period } from "../../../facts/period.js";
import { audit } from "../audit.js";
import type { Answer, Call, Handler } from "./registry.js";

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const CONTROL = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;
/** The longest period one request may ask for. */
const MAX_DAYS = 366;
/**
 * The most host-days one request may ask for. Neither memory nor verification bounds it any more:
 * the pack is made a host at a time (one host's report in memory), written to a temporary
 * directory and sent from its file, and `covenant evidence verify` reads it as a stream. What does
 * is the request: the pack is made before its first byte is sent, at 0.05 to 0.07 s a host-day
 * on the 2-core benchmark machine, loaded (bench/README.md "the fleet evidence pack": 10,010
 * host-days, a quarter of 110 hosts, in 9 to 12 minutes), and the temporary directory needs ~1.6 MB a host-day
 * (the files and their archive) while it is made. A quarter (92 days) of a 130-host group fits; larger
 * packs are cut by group or period, or made with `covenant hub evidence` on the hub's machine.
 */
export const MAX_HOST_DAYS = 12_000;

/** How long an export's connection may stay silent while its pack is made (the cap's time, with room). */
const EXPORT_IDLE_MS = 30 * 60_000;

/** Why a pack of `hosts` hosts over `period` is too large for one request, or undefined. */
export function hostDaysProblem(hosts: number, period: Pick<Period, "startMs" | "endMs">, max = MAX_HOST_DAYS): string | undefined {
  const days = Math.round((period.endMs - period.startMs) / 86_400_000);
  if (hosts * days <= max) return undefined;
  return `${hosts} hosts over ${days} days is ${hosts * days} host-days, more than the ${max} one request may ask for (the pack is made before the download starts): ask for a host group or a shorter period, or run \`covenant hub evidence\` on the hub's machine`;
}

function query(call: Call): { from: string; to: string; group?: string; tz: string; controls: string[] } {
  const { from, to, tz, control } = call.query;
  // the dashboard's form sends an empty group for every host
  const group = call.query["group"] === "" ? undefined : call.query["group"];
  if (!from || !to || !DATE.test(from) || !DATE.test(to)) throw new AccessInputError("from and to are dates (YYYY-MM-DD), both required");
  if (group !== undefined && (group.length === 0 || group.length > 200)) throw new AccessInputError("group is a host group's name");
  const controls = control === undefined || control === "" ? [] : control.split(",");
  if (controls.some((c) => !CONTROL.test(c))) throw new AccessInputError("control is a comma-separated list of control ids");
  return { from, to, ...(group !== undefined ? { group } : {}), tz: tz === undefined || tz === "" ? "UTC" : tz, controls };
}

export function evidenceHandlers(clockToleranceMs: number, generator: string): Record<string, Handler> {
  return {
    "evidence.export": async (call: Call): Promise<Answer> => {
      const q = query(call);
      let period;
      try {
        period = periodOf(q.from, q.to, q.tz);
      } catch (err) {
        if (err instanceof PeriodError) throw new AccessInputError(err.message);
        throw err;
      }
      if (period.endMs - period.startMs > MAX_DAYS * 86_400_000 + 3_600_000) throw new AccessInputError(`at most ${MAX_DAYS} days in one pack: ask for a shorter period (covenant hub evidence makes longer ones)`, 413);
      const { deps } = call;
      const tooLarge = hostDaysProblem((await reportedHosts(deps.pool, period, q.group)).length, period);
      if (tooLarge) throw new AccessInputError(tooLarge, 413);
      const name = `fleet-${q.group ?? "all"}-${q.from}-${q.to}`.replace(/[^A-Za-z0-9._-]/g, "_");
      // nothing is sent while the pack is made: the hub's idle timeout for a connection (a minute,
      // app.ts) would cut the download before its first byte; this connection waits as long as a pack may take
      call.req.raw.socket.setTimeout(EXPORT_IDLE_MS);
      const work = mkdtempSync(join(tmpdir(), "covenant-hub-export-"));
      let fd: number;
      let pack;
      try {
        pack = await writeFleetPack(deps.pool, join(work, name), { period, ...(q.group !== undefined ? { group: q.group } : {}), controls: q.controls, toleranceMs: clockToleranceMs, hubFingerprint: deps.key.fingerprint, generator, key: deps.key, now: deps.now() });
        fd = openSync(pack.archive, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (err) {
        if (err instanceof FleetReportError) throw new AccessInputError(err.message, 404);
        throw err;
      } finally {
        // the archive stays readable through its descriptor: nothing of the pack is left under a name
        rmSync(work, { recursive: true, force: true });
      }
      try {
        const bytes = fstatSync(fd).size;
        await audit(deps.pool, call.principal!.name, "evidence.export", q.group !== undefined ? `group:${q.group}` : null, { from: q.from, to: q.to, tz: q.tz, controls: q.controls, hosts: pack.manifest.hosts.length, manifestSha256: pack.manifestSha256, bytes });
        // the stream closes the descriptor when it ends, fails, or the client goes away
        const body = createReadStream("", { fd, autoClose: true, highWaterMark: 1024 * 1024 });
        return { status: 200, raw: { type: "application/gzip", text: body }, headers: { "content-disposition": `attachment; filename="${name}.tar.gz"`, "content-length": String(bytes) } };
      } catch (err) {
        closeSync(fd);
        throw err;
      }
    },
  };
}
