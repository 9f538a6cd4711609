// Each control's design over the period, from the policy versions in force: what the latest one
// that defines it says (title, owner, severity, refs, its promises as written), every version that
// defined it with when it took effect and whether it changed the control's text, and the waivers
// those versions held that reach the period, with the waivers given on the fleet hub.
import type { CheckedWaiver } from "../checker/policy.js";
import type { ControlDesign, ReportPeriod, WaiverInPeriod } from "./report-model.js";
import type { CheckedVersion, ControlAsWritten } from "./stored-policy.js";

/** A stretch of time a policy version was in force, with that version checked. */
export interface VersionInForce {
  hash: string;
  from: string;
  until?: string;
  checked: CheckedVersion | undefined;
}

export interface DesignOf {
  design: ControlDesign;
  /** the latest definition (undefined when no version in force defines it, or none checks) */
  latest?: ControlAsWritten;
  /** when the control was first and last defined during the period (ms); undefined when never */
  definedFrom?: number;
  definedUntil?: number;
  waivers: WaiverInPeriod[];
}

export function designOf(id: string, versions: readonly VersionInForce[], period: { from: string; to: string }, given: readonly CheckedWaiver[] = []): DesignOf {
  const defined = versions.map((v) => ({ v, c: v.checked?.controls.get(id) })).filter((x): x is { v: VersionInForce; c: ControlAsWritten } => x.c !== undefined);
  const latest = defined[defined.length - 1]?.c;
  const history: ControlDesign["versions"] = [];
  let previous: string | undefined;
  for (const { v, c } of defined) {
    history.push({ hash: v.hash, from: v.from, ...(v.until !== undefined ? { until: v.until } : {}), changed: previous !== undefined && previous !== c.text });
    previous = c.text;
  }
  const design: ControlDesign = latest
    ? {
        title: latest.control.title,
        ...(latest.control.description !== undefined ? { description: latest.control.description } : {}),
        ...(latest.control.owner !== undefined ? { owner: latest.control.owner } : {}),
        severity: latest.control.severity,
        key: latest.control.key,
        refs: [...latest.control.refs],
        promises: latest.promises.map((p) => ({ ...p })),
        versions: history,
      }
    : { title: id, severity: "medium", key: false, refs: [], promises: [], versions: history };
  const first = defined[0];
  const last = defined[defined.length - 1];
  // and the waivers given on the fleet hub (their records), after the policy's
  const out: DesignOf = { design, waivers: waiversOf([...defined.flatMap((d) => d.c.waivers), ...given], period) };
  if (latest) out.latest = latest;
  if (first) out.definedFrom = Date.parse(first.v.from);
  if (last) out.definedUntil = last.v.until !== undefined ? Date.parse(last.v.until) : Number.POSITIVE_INFINITY;
  return out;
}

/** The waivers that reach the period (or expired before it), once each: in force while their dates overlap it, else expired. */
function waiversOf(waivers: readonly CheckedWaiver[], period: Pick<ReportPeriod, "from" | "to">): WaiverInPeriod[] {
  const seen = new Set<string>();
  const out: WaiverInPeriod[] = [];
  for (const w of waivers) {
    if (w.from !== undefined && w.from > period.to) continue;
    const id = JSON.stringify([w.reason, w.approvedBy, w.from, w.until]);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({
      reason: w.reason,
      approvedBy: w.approvedBy,
      ...(w.from !== undefined ? { from: w.from } : {}),
      until: w.until,
      ...(w.risk !== undefined ? { risk: w.risk } : {}),
      ...(w.ticket !== undefined ? { ticket: w.ticket } : {}),
      status: w.until < period.to ? "expired" : "in-force",
    });
  }
  return out;
}
