// The engine: contexts from facts, written order moved only by depends_on, per-promise
// timeouts, waivers, and a control's verdict as the worst of its promises.
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { worst } from "../../src/evaluator/outcomes.ts";
import { evaluateText } from "../helpers/evaluate.ts";

const temp = () => mkdtempSync(join(tmpdir(), "covenant-engine-"));

describe("engine", () => {
  it("a control's verdict is the worst outcome of its promises", async () => {
    const d = temp();
    writeFileSync(join(d, "ok"), "");
    chmodSync(join(d, "ok"), 0o640);
    const e = await evaluateText(`control "C-1" {
  title = "mixed"
  file "${d}/ok" { mode = 0640 }
  file "${d}/missing" { mode = 0640 }
}
control "C-2" {
  title = "fine"
  file "${d}/ok" { mode = 0640 }
}`);
    expect(e.controls.map((c) => [c.id, c.verdict])).toEqual([
      ["C-1", "drift"],
      ["C-2", "kept"],
    ]);
    expect(worst(["kept", "waived", "repaired"])).toBe("waived");
    expect(worst(["drift", "error", "failed"])).toBe("error");
    expect(worst([])).toBe("skipped");
  });

  it("contexts and `when` are evaluated from the host facts: a false condition skips", async () => {
    const d = temp();
    const e = await evaluateText(
      `context weekend_day = weekday in [saturday, sunday]
context this_host = hostname == "${(await import("node:os")).hostname().split(".")[0]}"
control "C-1" {
  title = "only elsewhere"
  when  = not this_host
  file "${d}/x" { mode = 0640 }
}
control "C-2" {
  title = "only on weekdays"
  file "${d}/y" { mode = 0640 when = weekend_day }
}`,
      { now: new Date("2026-11-23T12:00:00Z") }, // a Monday
    );
    expect(e.results.map((r) => [r.outcome, r.reason])).toEqual([
      ["skipped", "the control's condition `not this_host` is false"],
      ["skipped", "the promise's condition `weekend_day` is false"],
    ]);
    expect(e.contexts).toEqual({ weekend_day: false, this_host: true });
  });

  it("network and calendar conditions", async () => {
    const e = await evaluateText(
      `context lo      = ip in ["127.0.0.0/8", "::1/128"]
context close   = business_day_of_month <= 3 or business_days_left_in_month <= 2
context q4      = quarter == 4 and month >= 11
control "C" {
  title = "t"
  when  = lo and not close and q4
  command ["/bin/true"] {}
}`,
      { now: new Date("2026-11-16T12:00:00Z") },
    );
    expect(e.contexts).toEqual({ lo: true, close: false, q4: true });
    expect(e.results[0]!.outcome).toBe("kept");
  });

  it("written order, except that a promise runs after the promises it depends on", async () => {
    const d = temp();
    const e = await evaluateText(`control "C" {
  title = "order"
  file "${d}/a" { exists = false depends_on = ["second"] }
  file "${d}/b" { exists = false handle = "second" depends_on = ["third"] }
  file "${d}/c" { exists = false handle = "third" }
  file "${d}/d" { exists = false }
}`);
    expect(e.results.map((r) => r.promiser.slice(-1))).toEqual(["c", "b", "a", "d"]);
    // the report keeps the written order within each control
    expect(e.controls[0]!.promises.map((r) => r.promiser.slice(-1))).toEqual(["a", "b", "c", "d"]);
  });

  it("a promise that exceeds its timeout is an error, and the run goes on", async () => {
    const e = await evaluateText(`control "C" {
  title = "slow"
  command ["/bin/sleep", "5"] { timeout = 1s }
  command ["/bin/true"] {}
}`);
    expect(e.results.map((r) => [r.outcome, r.reason])).toEqual([
      ["error", "timed out after 1s"],
      ["kept", "as promised"],
    ]);
    expect(e.results[0]!.durationMs).toBeLessThan(3000);
  });

  it("an unexpired waiver turns drift into waived, keeping what differed; an expired one does not", async () => {
    const d = temp();
    const policy = (until: string) => `control "C-1" {
  title = "waived"
  file "${d}/missing" { mode = 0640 }
}
waiver "C-1" {
  reason      = "migration"
  approved_by = "cfo"
  until       = ${until}
}`;
    const now = new Date("2026-11-23T12:00:00Z");
    const waived = await evaluateText(policy("2026-12-31"), { now });
    expect(waived.results[0]!.outcome).toBe("waived");
    expect(waived.results[0]!.differences).toHaveLength(1);
    expect(waived.results[0]!.notes).toContain("would be drift; waived");
    expect(waived.controls[0]!.waiver).toEqual({ reason: "migration", approvedBy: "cfo", until: "2026-12-31" });
    const later = await evaluateText(policy("2026-12-31"), { now: new Date("2027-01-02T12:00:00Z") });
    expect(later.results[0]!.outcome).toBe("drift");
  });

  it("the error outcome never counts as compliant and explains itself", async () => {
    const e = await evaluateText(`control "C" {
  title = "cannot observe"
  command ["/nonexistent/program"] {}
}`);
    expect(e.controls[0]!.verdict).toBe("error");
    expect(e.results[0]!.reason).toContain("does not exist");
  });

  it("membership of an address-like variable in a list of names is list membership, not a crash", async () => {
    const e = await evaluateText(`let addr  = "10.0.0.1"
let names = ["web", "db"]
control "C" {
  title = "t"
  when  = addr in names
  command ["/bin/true"] {}
}`);
    expect(e.results[0]!.outcome).toBe("skipped");
  });

  it("waivers expire by the calendar's own date, not UTC's", async () => {
    const d = temp();
    const policy = `calendar {
  timezone = "America/New_York"
}
control "C-1" {
  title = "waived"
  file "${d}/missing" { mode = 0640 }
}
waiver "C-1" {
  reason      = "migration"
  approved_by = "cfo"
  until       = 2027-03-31
}`;
    // 00:30 UTC on 1 April is still 31 March in New York: the waiver holds
    const e = await evaluateText(policy, { now: new Date("2027-04-01T00:30:00Z") });
    expect(e.results[0]!.outcome).toBe("waived");
    expect((await evaluateText(policy, { now: new Date("2027-04-01T05:30:00Z") })).results[0]!.outcome).toBe("drift");
  });

  it("evaluates only the promises asked for (the watcher's subset), keeping each key as the whole policy gives it", async () => {
    const d = temp();
    for (const f of ["a", "b"]) writeFileSync(join(d, f), "");
    chmodSync(join(d, "a"), 0o666);
    const policy = `control "C-1" {
  title = "first"
  file "${d}/a" { mode = 0640 }
  file "${d}/a" { owner = "root" }
}
control "C-2" {
  title = "second"
  file "${d}/b" { mode = 0600 }
}`;
    const whole = await evaluateText(policy);
    expect(whole.results.map((r) => r.key)).toEqual([`C-1/file:${d}/a`, `C-1/file:${d}/a#2`, `C-2/file:${d}/b`]);
    const part = await evaluateText(policy, { only: new Set([`C-1/file:${d}/a#2`]) });
    // the second promise on the same path keeps its #2, and the control without one is left out
    expect(part.results.map((r) => r.key)).toEqual([`C-1/file:${d}/a#2`]);
    expect(part.controls.map((c) => [c.id, c.promises.length])).toEqual([["C-1", 1]]);
    expect((await evaluateText(policy, { only: new Set() })).results).toEqual([]);
  });
});

