// Who attached to the findings (attachWho): by path, to the realtime promises an event touched;
// a deficient one without a finding gets one.
import { describe, expect, it } from "vitest";
import type { PromiseResult } from "../../src/evaluator/engine.ts";
import type { FileFinding } from "../../src/evaluator/file-finding.ts";
import { attachWho, type PathWho } from "../../src/watch/who.ts";

const result = (key: string, outcome: PromiseResult["outcome"], findings?: FileFinding[]): PromiseResult => ({ key, control: "C", type: "file", promiser: "/p", outcome, reason: "r", differences: [], changes: [], notes: [], stakeholders: [], file: "p.promise", line: 1, durationMs: 0, ...(findings ? { findings } : {}) });

describe("attachWho", () => {
  const who: PathWho = { holders: [{ pid: 7, via: "open", uid: 0, user: "root", exe: "/usr/bin/vim", commandLine: "vim /srv/a" }], madeBy: { status: "unavailable", reason: "auditd is not running" } };

  it("fills the evaluator's findings by path, and makes one for a deficient promise that has none", () => {
    const withFinding = result("C/file:/srv/a", "drift", [{ path: "/srv/a", changes: [] }, { path: "/srv/other", changes: [] }]);
    const without = result("D/file:/srv/a", "repaired");
    const kept = result("E/file:/srv/a", "kept");
    attachWho([withFinding, without, kept], new Map([["/srv/a", who]]), () => ["C/file:/srv/a", "D/file:/srv/a", "E/file:/srv/a"]);
    expect(withFinding.findings![0]).toMatchObject({ path: "/srv/a", holders: who.holders, madeBy: who.madeBy });
    expect(withFinding.findings![1]).not.toHaveProperty("holders");
    expect(without.findings).toEqual([{ path: "/srv/a", changes: [], holders: who.holders, madeBy: who.madeBy }]);
    expect(kept.findings).toBeUndefined();
  });
});
