// `covenant evidence verify` on a fleet evidence pack (the hub's, docs/hub-evidence.md): the
// verdict in words or JSON. The checks are evidence/fleet-verify.ts's.
import { FLEET_WHAT_IT_PROVES } from "../../evidence/fleet-manifest.js";
import type { FleetVerdict } from "../../evidence/fleet-verify.js";
import type { EntrySink } from "../../evidence/tar.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";

/** One file's bytes to two checkers as they pass. */
export function bothSinks(a: EntrySink, b: EntrySink): EntrySink {
  return {
    write: (chunk) => {
      a.write(chunk);
      b.write(chunk);
    },
    end: () => {
      a.end();
      b.end();
    },
  };
}

/** Says the verdict; exit 0 intact, 1 a problem found (each named: the file, the record, what). */
export function reportFleetVerdict(v: FleetVerdict, json: boolean, io: Io): number {
  const m = v.manifest;
  if (json) {
    io.out(JSON.stringify({ intact: v.intact, kind: "fleet", checkedWith: v.checkedWith, problems: v.problems, ...(m ? { createdAt: m.createdAt, period: m.period, scope: m.scope, hosts: m.hosts.map((h) => ({ id: h.id, name: h.name, chainStatus: h.chainStatus, incidents: h.incidents.length, extract: h.extract })) } : {}), says: FLEET_WHAT_IT_PROVES }, null, 2));
  } else if (v.intact && m) {
    const records = m.hosts.reduce((n, h) => n + h.extract.count, 0);
    io.out(io.style.green(`intact: the fleet pack of ${m.scope.group === null ? "the whole fleet" : `host group ${escapeText(m.scope.group)}`} for ${escapeText(m.period.from)} to ${escapeText(m.period.to)}, signed by the hub's key ${v.checkedWith}: every file as signed; ${m.hosts.length} host${m.hosts.length === 1 ? "" : "s"}, ${records} record${records === 1 ? "" : "s"}, each host's linking into the hub's chain; ${m.policies.length} policy version${m.policies.length === 1 ? "" : "s"}`));
    for (const h of m.hosts.filter((x) => x.chainStatus !== "ok" || x.incidents.some((i) => i.kind !== "clock"))) io.out(io.style.red(`but the hub held host ${escapeText(h.name)}'s chain in doubt (${escapeText(h.chainStatus)}; ${h.incidents.length} incident${h.incidents.length === 1 ? "" : "s"} in the period): see the report`));
  } else {
    io.out(io.style.red(`FAILED: ${v.problems.length} problem${v.problems.length === 1 ? "" : "s"} found (checked with ${v.checkedWith})`));
    for (const p of v.problems) io.out(`  ${escapeText(p.file)}${p.record !== undefined ? ` (record ${p.record})` : ""}: ${escapeText(p.message)}`);
  }
  if (!json) io.out(`what this proves: ${FLEET_WHAT_IT_PROVES}`);
  return v.intact ? EXIT.ok : EXIT.deficiencies;
}
