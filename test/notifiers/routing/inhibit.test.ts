// Inhibition: a deficiency of a promise others depend on silences theirs while it is open.
import { describe, expect, it } from "vitest";
import { inhibitions } from "../../../src/notifiers/routing/inhibit.ts";
import { deficiency, minute, notifyConfig, resolved } from "../../helpers/notify-config.ts";
import { Planner, summary } from "../../helpers/routing.ts";

const t0 = Date.parse("2026-03-02T12:00:00Z");
const iso = (t: number): string => new Date(t).toISOString();

const pkg = deficiency("d-pkg00001", { control: { id: "ITGC-CM-01" }, promise: { type: "package", promiser: "auditd", handle: "auditd_pkg" } });
const svc = deficiency("d-svc00001", { control: { id: "ITGC-CM-02" }, promise: { type: "service", promiser: "auditd", dependsOn: ["auditd_pkg"] } });

function planner(inhibit: boolean): Planner {
  return new Planner(
    notifyConfig({
      stakeholders: { security: { people: [{ name: "Alice", email: "alice@example.com" }], channels: ["mail"] } },
      channels: { mail: "email" },
      route: { receivers: ["security"], groupWaitMs: 0 },
      inhibit,
    }),
  );
}

describe("inhibition", () => {
  it("does not tell a dependent while the deficiency it depends on is open, and tells it once that is resolved", () => {
    const p = planner(true);
    expect(summary(p.at(t0, [pkg, svc]))).toEqual(['opened root {control="ITGC-CM-01"} → security/mail/alice@example.com [d-pkg00001]']);
    expect(p.last!.inhibited).toEqual([{ id: "d-svc00001", by: "d-pkg00001" }]);
    expect(p.last!.audience["d-svc00001"]).toBeUndefined();
    for (let t = t0 + 15 * minute; t < t0 + 10 * 60 * minute; t += 15 * minute) p.at(t, [pkg, svc]);
    expect(p.sent.every((m) => m.message.deficiencies.every((d) => d.id !== "d-svc00001"))).toBe(true);
    const later = t0 + 10 * 60 * minute;
    const sent = p.at(later, [resolved(pkg, iso(later)), svc]);
    expect(p.last!.inhibited).toEqual([]);
    expect(summary(sent)).toContain('opened root {control="ITGC-CM-02"} → security/mail/alice@example.com [d-svc00001]');
  });

  it("tells both with inhibit.depends_on off", () => {
    const p = planner(false);
    expect(p.at(t0, [pkg, svc])).toHaveLength(2);
    expect(p.last!.inhibited).toEqual([]);
  });

  it("is held back only by an open deficiency on the same host, not by a notice or another host's", () => {
    const notice = { ...pkg, notice: true, status: "resolved" as const, outcome: "repaired" as const };
    expect(inhibitions([notice, svc], true).size).toBe(0);
    expect(inhibitions([{ ...pkg, host: "other-01" }, svc], true).size).toBe(0);
    expect([...inhibitions([pkg, svc], true)]).toEqual([["d-svc00001", "d-pkg00001"]]);
  });

  it("keeps a dependent told earlier from being reminded while held back", () => {
    const p = planner(true);
    p.at(t0, [svc]);
    expect(p.sent).toHaveLength(1);
    for (let t = t0 + minute; t <= t0 + 9 * 60 * minute; t += 15 * minute) p.at(t, [pkg, svc]);
    // one opened for the package, one reminder each 4 h for the package only
    expect(summary(p.sent).filter((s) => s.includes("d-svc00001"))).toHaveLength(1);
  });
});
