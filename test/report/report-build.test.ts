// The evidence report built from real stores: operation counts, verdicts, gaps, episodes and
// their lives (opened, updated, resolved, notices, told and acknowledged), repairs, dry and sandbox
// runs left out, the clock's steps, the period's days in a time zone, and the auditor's sample.
import { afterAll, describe, expect, it } from "vitest";
import { periodOf } from "../../src/facts/period.ts";
import { buildReport, UnknownControlError } from "../../src/report/report-build.ts";
import type { EvidenceReport } from "../../src/report/report-model.ts";
import { StateStore } from "../../src/store/store.ts";
import { removeTempDirs, tempDir } from "../store/helpers.ts";
import { group, message } from "../store/notify-helpers.ts";
import { A, at, B, C, kept, policyText, recordRun, result } from "./report-helpers.ts";

afterAll(() => removeTempDirs());

const NOW = new Date("2026-04-01T00:00:00Z");
const hour = (h: number) => at(h * 60);

/**
 * Three days in UTC, a run every hour except 06:00 to 18:00 on day 2. B drifts at 10:00 on day 1
 * and is repaired at 13:00; A is found and repaired at once at 20:00; C drifts from 12:00 on day 3
 * to the end. A dry run and a sandbox run, both deficient, in the middle.
 */
function scenario(): { dir: string; store: StateStore } {
  const dir = tempDir("report");
  const store = StateStore.open(dir);
  // the day before the period: kept
  recordRun(store, { at: at(-60), results: kept() });
  for (let h = 0; h < 72; h++) {
    if (h > 30 && h < 42) continue; // day 2, 07:00 to 17:00: not operating
    const results = kept();
    if (h >= 10 && h < 13) results[1] = result(B, "drift");
    if (h === 13) results[1] = result(B, "repaired");
    if (h === 20) results[0] = result(A, "repaired");
    if (h >= 60) results[2] = result(C, "drift");
    recordRun(store, { at: hour(h), results });
    if (h === 11) {
      const open = store.listDeficiencies().find((d) => d.key === B)!;
      store.acknowledge(open.id, { at: hour(11.5), reason: "known, change CHG-7", by: "alice", user: "root", loginUid: null });
      const ws = store.notificationWorkingSet();
      const m = message("m-0000000000000001", ws.deficiencies);
      store.savePlan({ messages: [{ channel: "mail", message: m, dueAt: 1 }], groups: [group([m.id], {})], dropped: [], routedEvents: ws.events });
      store.recordDelivery(m.id, { at: hour(11.6), status: "sent" });
    }
    if (h === 24) {
      recordRun(store, { at: hour(24.3), results: [result(A, "drift"), result(B, "drift"), result(C, "drift")], dryRun: true });
      recordRun(store, { at: hour(24.6), results: [result(A, "drift"), result(B, "kept"), result(C, "kept")], sandbox: true });
    }
  }
  return { dir, store };
}

function build(store: StateStore, extra: Partial<Parameters<typeof buildReport>[1]> = {}): EvidenceReport {
  return buildReport(store, { period: periodOf("2026-03-01", "2026-03-03", "UTC"), generator: "test", now: NOW, ...extra });
}

describe("the evidence report", () => {
  const { store } = scenario();
  const report = build(store);
  const c1 = report.controls.find((c) => c.id === "C-1")!;
  const c2 = report.controls.find((c) => c.id === "C-2")!;

  it("counts operational runs only, and each control's evaluations and verdicts", () => {
    expect(report.summary.runs).toEqual({ operational: 61, watch: 0, dryRun: 1, sandbox: 1 });
    expect(c1.operation.evaluations).toBe(61);
    // B's drift at 10, 11, 12 (the sandbox run's drift of A is not counted)
    expect(c1.operation.verdicts).toEqual({ kept: 56, drift: 3, repaired: 2 });
    expect(c1.operation.kept).toBe(56);
    expect(c2.operation.verdicts).toEqual({ kept: 49, drift: 12 });
    expect(report.summary.evaluations).toBe(122);
    expect(report.summary.keptShare).toBeCloseTo((56 + 49) / 122, 6);
    expect(report.host).toBe("ledger-1");
  });

  it("rebuilds the design from the stored policy text", () => {
    expect(c1.design).toMatchObject({ title: "Ledger files are private", owner: "ops", severity: "high", key: true, refs: ["SOX 404", "COBIT DSS05.04"] });
    expect(c1.design.promises.map((p) => p.key)).toEqual([A, B]);
    expect(c1.design.promises[0]!.text).toContain('file "/srv/a"');
    expect(c1.design.promises[0]!.line).toBe(13);
    expect(c1.design.versions).toHaveLength(1);
    expect(report.policyVersions).toHaveLength(1);
    expect(report.policyVersions[0]!.files[0]).toMatchObject({ path: "/etc/covenant/policies/ledger.promise" });
    expect(c2.operation.waivers).toEqual([expect.objectContaining({ reason: "Migration, change CHG-1", approvedBy: "j.doe", until: "2026-03-10", status: "in-force" })]);
  });

  it("learns the cadence and finds the gap, with the words an auditor reads", () => {
    expect(c1.operation.expected).toMatchObject({ everyMs: 3_600_000, source: "learned" });
    expect(c1.operation.gaps).toEqual([
      { from: hour(30), to: hour(42), durationMs: 12 * 3_600_000, text: `control not operating from ${hour(30)} to ${hour(42)}` },
    ]);
    expect(report.summary.gaps).toBe(2);
  });

  it("rebuilds each episode: opened, worst outcome, resolved by the repair, told and acknowledged", () => {
    const eps = c1.operation.episodes;
    expect(eps).toHaveLength(2);
    const b = eps[0]!;
    expect(b).toMatchObject({ promise: B, outcome: "drift", notice: false, opened: hour(10), resolved: hour(13), resolvedBy: "repaired", repaired: true, durationMs: 3 * 3_600_000 });
    expect(b.ack).toMatchObject({ by: "alice", reason: "known, change CHG-7" });
    expect(b.told).toEqual([expect.objectContaining({ at: hour(11.6), recipient: "security/mail/alice@example.com", channel: "mail", status: "sent" })]);
    // the id is the host's own
    const all = store.listDeficiencies({ status: "all" }).map((d) => d.id);
    expect(b.id).toMatch(/^d-/);
    expect(eps[1]).toMatchObject({ promise: A, notice: true, repaired: true, opened: hour(20) });
    expect(c2.operation.episodes).toEqual([expect.objectContaining({ promise: C, outcome: "drift", opened: hour(60) })]);
    expect(c2.operation.episodes[0]!.resolved).toBeUndefined();
    expect(report.summary.openAtEnd).toBe(1);
    expect(report.summary.episodes).toBe(2);
    expect(c1.operation.remediation).toEqual({ resolved: 1, medianMs: 3 * 3_600_000, worstMs: 3 * 3_600_000 });
    expect(all.length).toBeGreaterThan(0);
  });

  it("lists the repairs with what was changed", () => {
    expect(c1.operation.repairs.map((r) => [r.promise, r.at, r.changes])).toEqual([
      [B, hour(13), ["applied: chmod 0640"]],
      [A, hour(20), ["applied: chmod 0640"]],
    ]);
  });

  it("draws each day of the period", () => {
    expect(c1.timeline.map((d) => d.day)).toEqual(["2026-03-01", "2026-03-02", "2026-03-03"]);
    expect(c1.timeline.map((d) => d.evaluations)).toEqual([24, 13, 24]);
    expect(c1.timeline[0]).toEqual({ day: "2026-03-01", evaluations: 24, kept: 19, deficient: 3, other: 2 });
  });

  it("vouches for the chain over the period and names its head", () => {
    expect(report.integrity.verdict).toBe("intact");
    expect(report.integrity.head?.seq).toBe(report.integrity.lastRecord);
    expect(report.integrity.storeHead?.seq).toBe(report.integrity.lastRecord);
    expect(report.clock.backwardSteps).toEqual([]);
  });

  it("refuses a control the period does not know", () => {
    expect(() => build(store, { controls: ["C-9"] })).toThrow(UnknownControlError);
    expect(build(store, { controls: ["C-2"] }).controls.map((c) => c.id)).toEqual(["C-2"]);
  });
});

describe("the auditor's sample", () => {
  const { store } = scenario();
  const sample = (seed: string, size = 5) => build(store, { sample: { size, seed } }).sample!;

  it("picks the same evaluations for the same seed, others for another, all when asked for more", () => {
    const one = sample("audit-2026");
    const again = sample("audit-2026");
    const other = sample("another seed");
    const runs = (s: typeof one) => s.controls.map((c) => c.picks.map((p) => p.run));
    expect(runs(again)).toEqual(runs(one));
    expect(runs(other)).not.toEqual(runs(one));
    expect(one.controls[0]).toMatchObject({ control: "C-1", population: 61 });
    expect(one.controls[0]!.picks).toHaveLength(5);
    expect(sample("x", 1000).controls[0]!.picks).toHaveLength(61);
  });

  it("gives each pick its evidence: the control's promises, proven against the summary", () => {
    const pick = sample("audit-2026").controls[0]!.picks[0]!;
    expect(pick.proven).toBe(true);
    expect(pick.promises.map((p) => p.key)).toEqual([A, B]);
    expect(pick.summaryRecord).toBeGreaterThan(0);
    expect(pick.policy.hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("episodes across the period's start", () => {
  it("an episode opened (and acknowledged) before the period and open through it is the period's, open at its end", () => {
    const store = StateStore.open(tempDir("report"));
    for (let h = 0; h < 48; h++) {
      const results = kept();
      if (h >= 20) results[1] = result(B, "failed");
      recordRun(store, { at: hour(h), results });
      if (h === 21) store.acknowledge(store.listDeficiencies()[0]!.id, { at: hour(21.5), reason: "vendor fix due", by: "bob", user: "root", loginUid: null });
    }
    const r = buildReport(store, { period: periodOf("2026-03-02", "2026-03-02", "UTC"), generator: "test", now: NOW });
    const c1 = r.controls.find((c) => c.id === "C-1")!;
    expect(c1.operation.episodes).toEqual([expect.objectContaining({ promise: B, outcome: "failed", opened: hour(20), ack: expect.objectContaining({ by: "bob" }) })]);
    expect(c1.operation.episodes[0]!.resolved).toBeUndefined();
    expect(r.summary.openAtEnd).toBe(1);
    // every evaluation of the day was deficient
    expect(c1.operation.verdicts).toEqual({ failed: 24 });
    expect(c1.operation.keptShare).toBe(0);
    // a period before it opened knows nothing of it
    expect(buildReport(store, { period: periodOf("2026-02-28", "2026-02-28", "UTC"), generator: "test", now: NOW }).summary.episodes).toBe(0);
    store.close();
  });
});


describe("watcher runs and policy versions", () => {
  it("a watcher run counts for the controls of the promises it evaluated only", () => {
    const store = StateStore.open(tempDir("report"));
    for (let h = 0; h < 24; h++) recordRun(store, { at: hour(h), results: kept() });
    for (let h = 0; h < 24; h++) recordRun(store, { at: hour(h + 0.5), results: [result(B, "kept")], kind: "watch" });
    const r = build(store, { period: periodOf("2026-03-01", "2026-03-01", "UTC") });
    expect(r.summary.runs).toMatchObject({ operational: 48, watch: 24 });
    expect(r.controls.find((c) => c.id === "C-1")!.operation.evaluations).toBe(48);
    expect(r.controls.find((c) => c.id === "C-2")!.operation.evaluations).toBe(24);
    store.close();
  });

  it("lists each version in force, marks the one that changed a control, and counts a new control from its introduction", () => {
    const store = StateStore.open(tempDir("report"));
    const v1 = policyText();
    const v2 = policyText({ title: "Ledger files are private (reviewed)" }).replace('control "C-2"', 'control "C-3" {\n  title = "New control"\n  severity = low\n  file "/srv/d" {\n    mode = 0640\n  }\n}\n\ncontrol "C-2"');
    for (let h = 0; h < 24; h++) recordRun(store, { at: hour(h), results: kept(), policy: v1 });
    for (let h = 24; h < 48; h++) recordRun(store, { at: hour(h), results: [...kept(), result("C-3/file:/srv/d", "kept")], policy: v2 });
    const r = build(store, { period: periodOf("2026-03-01", "2026-03-02", "UTC") });
    expect(r.policyVersions.map((v) => [v.from, v.until])).toEqual([
      [hour(0), hour(24)],
      [hour(24), undefined],
    ]);
    const c1 = r.controls.find((c) => c.id === "C-1")!;
    expect(c1.design.title).toBe("Ledger files are private (reviewed)");
    expect(c1.design.versions.map((v) => v.changed)).toEqual([false, true]);
    expect(r.controls.find((c) => c.id === "C-2")!.design.versions.map((v) => v.changed)).toEqual([false, false]);
    const c3 = r.controls.find((c) => c.id === "C-3")!;
    expect(c3.design.versions).toHaveLength(1);
    // defined from the second day: no gap for the first
    expect(c3.operation).toMatchObject({ evaluations: 24, gaps: [], expected: { source: "learned", count: 24 } });
    store.close();
  });
});
