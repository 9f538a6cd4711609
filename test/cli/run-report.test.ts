// The run report as people and CI read it: per control its owner, each listed promise with its
// stakeholders, skipped promises with their condition, what to do about drift; and every piece
// of outside text escaped, in the text report and in the JUnit XML.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { checkPaths } from "../../src/checker/check.ts";
import type { PromiseResult } from "../../src/evaluator/engine.ts";
import { promiseTypes } from "../../src/promise-types/registry.ts";
import { repairAdvice, repairsFor } from "../../src/cli/repair-advice.ts";
import { MemoryIntegrity } from "../../src/evaluator/memory-integrity.ts";
import { promisesOf, renderJsonParts, renderJunit, renderText, type RunInfo } from "../../src/cli/run-report.ts";
import { makeStyle } from "../../src/text/style.ts";
import { bin, covenant, ensureBuilt } from "../helpers/cli.ts";
import { evaluateText } from "../helpers/evaluate.ts";

beforeAll(() => ensureBuilt());

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), `covenant-${prefix}-`));
const plain = makeStyle(false);
const info: RunInfo = { run: 1, host: "gl-db-01", started: "2026-12-05T10:00:00.000Z", finished: "2026-12-05T10:00:01.000Z", policy: "p", dryRun: false, stateDir: "/var/lib/covenant", notes: [] };

/** Evaluates a policy written inline and renders its text report (and JUnit XML), with the policy at hand for advice. */
async function report(policy: string, options: Parameters<typeof evaluateText>[1] = {}): Promise<{ text: string; junit: string }> {
  const dir = temp("report-policy");
  writeFileSync(join(dir, "p.promise"), policy);
  const checked = checkPaths([join(dir, "p.promise")]);
  if (!checked.policy) throw new Error(checked.diagnostics.map((d) => d.message).join("\n"));
  const e = await evaluateText(policy, options);
  return { text: renderText(e, info, plain, promisesOf(checked.policy)), junit: renderJunit(e, info, promisesOf(checked.policy)) };
}

/** Whether python's XML parser accepts the document (it is strict about what XML 1.0 forbids). */
function wellFormed(xml: string): string {
  const r = spawnSync("python3", ["-c", "import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.buffer.read()); print('ok')"], { input: xml, encoding: "utf8" });
  return r.stdout.trim() || r.stderr.trim();
}

describe("the text report", () => {
  it("cannot be forged by a file name: a name with a line break stays on its line (the reproduction from issue 13)", () => {
    const dir = temp("forge");
    const tree = join(dir, "tree");
    mkdirSync(tree);
    chmodSync(tree, 0o750);
    const forged = "x\nKEPT     ITGC-FAKE-01  Everything is fine";
    writeFileSync(join(tree, forged), "");
    writeFileSync(join(tree, "\u001b[2Jclear"), "");
    for (const f of [forged, "\u001b[2Jclear"]) chmodSync(join(tree, f), 0o666);
    writeFileSync(join(dir, "p.promise"), `control "ITGC-CM-09" {\n  title = "Tree"\n  directory "${tree}" { max_mode = 0750 recurse = true }\n}\n`);
    const junit = join(dir, "report.xml");
    const r = covenant(["run", "--state", join(dir, "state"), "--junit", junit, join(dir, "p.promise")]);
    expect(r.code).toBe(1);
    const lines = r.out.split("\n");
    expect(lines.filter((l) => /^KEPT/.test(l))).toEqual([]);
    expect(lines.some((l) => l.includes(`${tree}/x\\nKEPT     ITGC-FAKE-01  Everything is fine: mode 0666`))).toBe(true);
    expect(r.out).not.toContain("\u001b");
    expect(r.out).toContain(`${tree}/\\x1b[2Jclear`);
    const xml = readFileSync(junit, "utf8");
    expect(wellFormed(xml)).toBe("ok");
    expect(xml).not.toContain("\u001b");
    expect(xml.split("\n").filter((l) => l.startsWith("KEPT"))).toEqual([]);
  });

  it("shows the control's owner, each listed promise's stakeholders, and what to do about drift", async () => {
    const dir = temp("owner");
    const f = join(dir, "gl.dat");
    writeFileSync(f, "ledger\n");
    chmodSync(f, 0o666);
    const { text, junit } = await report(`stakeholder compliance
stakeholder cfo_office
control "ITGC-CM-02" {
  title    = "Ledger files"
  owner    = compliance
  severity = critical
  file "${f}" -> [compliance, cfo_office] { mode = 0640 }
}
`);
    expect(text).toContain("DRIFT    ITGC-CM-02  Ledger files [critical, owner compliance]");
    expect(text).toContain(`drift    file "${f}" -> [compliance, cfo_office]: ${f}: mode is 0666, promised 0640`);
    expect(text).toContain("what to do: no repair declared: add `repair = perms` to let Covenant fix it");
    expect(junit).toContain('<property name="owner" value="compliance"/>');
    expect(junit).toContain("what to do: no repair declared: add `repair = perms` to let Covenant fix it");
    expect(junit).toContain("stakeholders: compliance, cfo_office");
    // the case's name stays the promise alone: CI tracks a test by its name
    expect(junit).toContain(`<testcase name="file &quot;${f}&quot;"`);
  });

  it("shows skipped promises compactly: one line for a control skipped as a whole, one per promise otherwise", async () => {
    const { text } = await report(`context never = hostname == "cvt-no-such-host"
control "OPS-AV-01" {
  title = "Ledger up during the close"
  when  = never
  process "postgres" { min = 1 }
  file "/etc/passwd" { exists = true }
}
control "OPS-AV-02" {
  title = "Partly skipped"
  file "/etc/passwd" { exists = true }
  file "/etc/group" { exists = true when = never }
}
`);
    expect(text).toContain("SKIPPED  OPS-AV-01  Ledger up during the close [medium]: the control's condition `never` is false");
    expect(text).not.toMatch(/skipped +process "postgres"/);
    expect(text).toContain('         skipped  file "/etc/group": the promise\'s condition `never` is false');
    expect(text).toContain("2 controls, 4 promises: 3 skipped, 1 kept");
  });

  it("says `repaired` once: the line gives what was wrong, the changes what was done", async () => {
    const dir = temp("repaired");
    const f = join(dir, "gl.dat");
    writeFileSync(f, "ledger\n");
    chmodSync(f, 0o666);
    const { text, junit } = await report(`control "ITGC-CM-02" {\n  title = "Ledger files"\n  file "${f}" { mode = 0640 repair = perms }\n}\n`);
    expect(text).toContain(`repaired file "${f}": ${f}: mode is 0666, promised 0640`);
    expect(text).toContain(`✓ applied: chmod 0640 ${f}`);
    expect(text).not.toMatch(/repaired:? repaired/);
    expect(junit).toContain(`<system-out>repaired: ${f}: mode is 0666, promised 0640\napplied: chmod 0640 ${f}</system-out>`);
    expect(junit).not.toMatch(/repaired:? repaired/);
  });

  it("escapes outside text in every part of the report: promisers, reasons, differences, notes, changes", async () => {
    const dir = temp("escape");
    const names = ["a\nKEPT b.dat", "c\u001b]0;title\u0007.dat", "d\u202etxt.exe"];
    for (const n of names) {
      writeFileSync(join(dir, n), "x");
      chmodSync(join(dir, n), 0o666);
    }
    const { text, junit } = await report(`control "C-1" {\n  title = "t"\n  file "${dir}/*" { mode = 0640 integrity = sha256 repair = perms }\n}\n`);
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(text).toContain(`${dir}/a\\nKEPT b.dat`);
    expect(text).toContain(`${dir}/c\\x1b]0;title\\x07.dat`);
    expect(text).toContain(`${dir}/d\\u202etxt.exe`);
    expect(wellFormed(junit)).toBe("ok");
    expect(junit).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u202a-\u202e]/);
  });
});

describe("JUnit XML", () => {
  it("carries what changed since approved, the masked diff and who, in the JUnit case as in the text report", async () => {
    const dir = temp("report-findings");
    const f = join(dir, "app.conf");
    writeFileSync(f, "listen = 80\npassword = hunter2\n<b>\n");
    const integrity = new MemoryIntegrity();
    const policy = `control "C-1" {\n  title = "config"\n  file "${f}" { integrity = sha256 }\n}\n`;
    await report(policy, { integrity });
    writeFileSync(f, "listen = 8080\npassword = hunter3\n<b>\n");
    const { junit, text } = await report(policy, { integrity });
    expect(text).toMatch(/changed since approved: /);
    const failure = /<failure type="drift"[^>]*>([\s\S]*?)<\/failure>/.exec(junit)![1]!;
    expect(failure).toMatch(/changed since approved: .*app\.conf: content/);
    expect(failure).toContain("-listen = 80\n");
    expect(failure).toContain("+listen = 8080\n");
    expect(failure).toContain("+password = ****");
    expect(failure).toContain("&lt;b&gt;");
    expect(junit).not.toMatch(/hunter/);
    expect(wellFormed(junit)).toBe("ok");
  });

  it("is well-formed XML whatever a promiser, a reason or a note holds", () => {
    const results = fc.sample(fc.string({ unit: "binary", maxLength: 40 }), 40);
    const e = {
      controls: [
        {
          id: "C\u0001-1",
          title: results[0] ?? "",
          severity: "high",
          owner: "o<>",
          key: false,
          verdict: "drift" as const,
          promises: results.map(
            (s, i): PromiseResult => ({
              key: `k${i}`,
              control: "C-1",
              type: "file",
              promiser: s,
              outcome: (["drift", "kept", "error", "skipped", "repaired"] as const)[i % 5]!,
              reason: s,
              differences: [{ attribute: "mode", expected: "0640", observed: s, reason: s }],
              changes: [],
              notes: [s],
              stakeholders: [],
              file: s,
              line: 1,
              durationMs: 1,
            }),
          ),
        },
      ],
      results: [],
      contexts: {},
      changes: [],
    };
    e.results = e.controls[0]!.promises as never;
    expect(wellFormed(renderJunit(e, { ...info, host: "h\u0000st" }))).toBe("ok");
  });
});

describe("what to do about drift", () => {
  it("knows a repair for every repairable type, each a value its schema accepts", () => {
    const repairable = [...promiseTypes.values()].filter((t) => t.attributes.some((a) => a.name === "repair")).map((t) => t.name);
    expect(Object.keys(repairsFor).sort()).toEqual(repairable.sort());
    const probes = ["mode", "max_mode", "owner", "group", "integrity", "exists", "min", "max", "state", "value"].flatMap((attribute) => ["present", "running", "stopped"].map((expected) => ({ attribute, expected, observed: "", reason: "" })));
    for (const [type, needs] of Object.entries(repairsFor)) {
      const attr = promiseTypes.get(type)!.attributes.find((a) => a.name === "repair")!;
      const values = attr.type.kind === "oneOrMany" && attr.type.of.kind === "enum" ? attr.type.of.values : attr.type.kind === "enum" ? attr.type.values : [];
      for (const d of probes) for (const v of needs(d) ?? []) expect(values, `${type}: ${v}`).toContain(v);
    }
  });

  it("names the repair to add, what it needs, what no repair covers, and types that are never repaired", async () => {
    const dir = temp("advice");
    const f = join(dir, "gl.dat");
    writeFileSync(f, "ledger\n");
    chmodSync(f, 0o666);
    const policy = `control "C-1" {
  title = "t"
  file "${f}" { mode = 0640 max_size = 1B repair = perms integrity = sha256 }
  locks "${f}" { min = 1 }
  process "cvt-no-such-process" { repair = kill }
}
`;
    const file = join(dir, "p.promise");
    writeFileSync(file, policy);
    const policyChecked = checkPaths([file]).policy!;
    const e = await evaluateText(policy);
    const promiseOf = promisesOf(policyChecked);
    // the file is repaired (perms) and recorded; change its content now so that integrity drifts
    writeFileSync(f, "tampered\n");
    const again = await evaluateText(policy, { baselines: { get: () => ({ algorithm: "sha256", digest: "0".repeat(64), size: 0, mode: 0o640, uid: 0, gid: 0, mtimeMs: 0, approvedAt: "2026-12-01" }), set: () => {}, keyDigest: (d) => d } });
    const advice = (r: PromiseResult, i: number) => repairAdvice(r, promiseOf(r, 0, i)!);
    expect(e.results[0]!.outcome).toBe("failed"); // max_size cannot be repaired: still not as promised after the chmod
    expect(advice(again.results[0]!, 0)).toBe("`repair = perms` does not cover integrity: write `repair = [perms, content]` with `baseline` to let Covenant fix it; max_size cannot be repaired: fix by hand");
    expect(advice(again.results[1]!, 1)).toBe("no repair exists for `locks` promises (lock findings are reported only): fix it by hand");
    expect(again.results[2]!.outcome).toBe("drift");
    expect(advice(again.results[2]!, 2)).toBe("`repair = kill` does not cover min: write `repair = [kill, start]` with `start` to let Covenant fix it");
  });
});

describe("the JSON report", () => {
  const policy = (controls: number) =>
    Array.from({ length: controls }, (_, c) => `control "C-${c}" {\n  title = "Control ${c}, with \\"quotes\\" and a\\nline break"\n  file "/nonexistent/c${c}" { exists = true }\n  file "/etc" { exists = true }\n}\n`).join("\n");

  it.each([0, 1, 3])("in chunks, each ending a line, is the whole report when joined (%i controls)", async (n) => {
    // no control at all: the same evaluation with its controls taken away (a policy needs one)
    const evaluated = await evaluateText(policy(Math.max(n, 1)));
    const e = n === 0 ? { ...evaluated, controls: [] } : evaluated;
    const parts = [...renderJsonParts(e, info)];
    for (const p of parts) expect(p.endsWith("\n")).toBe(true);
    const joined = parts.join("");
    const whole = JSON.parse(joined) as { controls: { id: string }[] };
    expect(whole.controls.map((c) => c.id)).toEqual(Array.from({ length: n }, (_, c) => `C-${c}`));
    // the same text JSON.stringify gives the whole at once, the replacer's omissions included
    expect(joined).toBe(`${JSON.stringify(whole, null, 2)}\n`);
  });
});

describe("the JSON report to a slow reader", () => {
  it("does not hold the run's lock while a reader that has stopped reading catches up, and arrives whole", async () => {
    // a report of ~2.5 MB, far more than a pipe holds; the reader stops after its first bytes
    const dir = temp("slow-reader");
    const policy = join(dir, "p.promise");
    writeFileSync(policy, Array.from({ length: 100 }, (_, c) => `control "C-${c}" {\n  title = "Control ${c}"\n${Array.from({ length: 30 }, (_, i) => `  file "/nonexistent/c${c}/f${i}" { exists = true }`).join("\n")}\n}\n`).join("\n"));
    const state = join(dir, "state");
    const child = spawn(bin, ["run", "--json", "--state", state, policy], { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    // the first bytes of the report: the run is recorded and is writing; then stop reading
    await new Promise<void>((resolve) => child.stdout.once("data", (c: Buffer) => (out.push(c), child.stdout.pause(), resolve())));
    await new Promise((r) => setTimeout(r, 1500));
    // another run of the same state directory meanwhile (a timer's) is not refused for the lock
    const second = covenant(["run", "--state", state, policy]);
    expect(second.err).not.toMatch(/holds the lock/);
    expect(second.code).toBe(1);
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stdout.resume();
    expect(await exited).toBe(1);
    expect(Buffer.concat(err).toString()).toBe("");
    const report = JSON.parse(Buffer.concat(out).toString("utf8")) as { controls: unknown[] };
    expect(report.controls).toHaveLength(100);
  }, 60_000);
});
