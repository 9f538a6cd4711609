// `covenant report` as users run it: the built CLI over a store real runs wrote, each format, the
// output directory, and the exit codes (0 made, 1 made but the chain does not verify, 2 usage).
import { Ajv2020 } from "ajv/dist/2020.js";
import Database from "better-sqlite3";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
beforeAll(() => ensureBuilt());

const today = new Date().toISOString().slice(0, 10);
const schema = JSON.parse(readFileSync(new URL("../../docs/report.schema.json", import.meta.url), "utf8")) as object;
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

/** Three real runs of a policy over a ledger file: kept, drifted (mode loosened, no repair), kept again; and a dry run. */
function host(): { dir: string; state: string; policy: string } {
  const dir = mkdtempSync(join(tmpdir(), "covenant-report-cli-"));
  made.push(dir);
  const file = join(dir, "gl.dat");
  writeFileSync(file, "entry\n");
  chmodSync(file, 0o640);
  const policy = join(dir, "ledger.promise");
  writeFileSync(policy, `calendar {\n  timezone = "UTC"\n}\n\ncontrol "ITGC-CM-02" {\n  title    = "Ledger files"\n  severity = critical\n  key      = true\n  refs     = ["SOX 404"]\n\n  file "${file}" {\n    mode = 0640\n  }\n}\n`);
  const state = join(dir, "state");
  const run = (extra: string[] = []) => expect(covenant(["run", "--quiet", "--state", state, ...extra, policy]).code).not.toBe(3);
  run();
  chmodSync(file, 0o666);
  run();
  run(["--dry-run"]);
  chmodSync(file, 0o640);
  run();
  return { dir, state, policy };
}

describe("covenant report", () => {
  const h = host();

  it("prints the JSON report: the model, valid against its schema, from real runs", () => {
    const r = covenant(["report", "--from", today, "--to", today, "--format", "json", "--state", h.state]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { period: { timeZone: string }; summary: { runs: Record<string, number> }; controls: { id: string; design: { title: string; key: boolean; promises: { text: string }[] }; operation: { evaluations: number; episodes: { outcome: string; resolvedBy?: string }[] } }[] };
    expect(validate(report)).toBe(true);
    // the days are read in the policy calendar's time zone
    expect(report.period.timeZone).toBe("UTC");
    expect(report.summary.runs).toEqual({ operational: 3, watch: 0, dryRun: 1, sandbox: 0 });
    const c = report.controls[0]!;
    expect(c).toMatchObject({ id: "ITGC-CM-02", design: { title: "Ledger files", key: true }, operation: { evaluations: 3 } });
    expect(c.design.promises[0]!.text).toContain("mode = 0640");
    expect(c.operation.episodes).toEqual([expect.objectContaining({ outcome: "drift", resolvedBy: "kept" })]);
  });

  it("writes Markdown, JSON and one CSV per table into --out, and a sample reproducibly", () => {
    const out = join(h.dir, "q1");
    for (const format of ["md", "json", "csv"]) {
      const r = covenant(["report", "--from", today, "--to", today, "--format", format, "--out", out, "--sample", "2", "--seed", "audit", "--state", h.state]);
      expect(r).toMatchObject({ code: 0, out: "" });
    }
    expect(readdirSync(out).sort()).toEqual(["controls.csv", "episodes.csv", "gaps.csv", "report.json", "report.md", "sample.csv"]);
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("## ITGC-CM-02: Ledger files");
    const picks = () => (JSON.parse(covenant(["report", "--from", today, "--to", today, "--format", "json", "--sample", "2", "--seed", "audit", "--state", h.state]).out) as { sample: { controls: { picks: { run: number; proven: boolean }[] }[] } }).sample.controls[0]!.picks;
    const first = picks();
    expect(first).toHaveLength(2);
    expect(first.every((p) => p.proven)).toBe(true);
    expect(picks()).toEqual(first);
  });

  it("holds every control to covenant.yaml's report.expected_every", () => {
    const config = join(h.dir, "covenant.yaml");
    writeFileSync(config, "version: 1\nreport:\n  expected_every: 2m\n");
    const r = covenant(["report", "--from", today, "--to", today, "--format", "json", "--config", config, "--state", h.state]);
    expect(r.err).toBe("");
    const c = (JSON.parse(r.out) as { controls: { operation: { expected: { everyMs: number; source: string } } }[] }).controls[0]!;
    expect(c.operation.expected).toMatchObject({ everyMs: 120_000, source: "configured" });
    writeFileSync(config, "version: 1\nreport:\n  expected_every: soon\n");
    expect(covenant(["report", "--from", today, "--to", today, "--format", "json", "--config", config, "--state", h.state]).code).toBe(2);
  });

  it("separates integrity changes approved (who, why) from those nobody approved", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-report-cli-"));
    made.push(dir);
    const file = join(dir, "gl.conf");
    writeFileSync(file, "limit = 1\n");
    chmodSync(file, 0o640);
    const policy = join(dir, "ledger.promise");
    writeFileSync(policy, `control "ITGC-CM-03" {\n  title = "Ledger configuration"\n\n  file "${file}" {\n    integrity = sha256\n  }\n}\n`);
    const state = join(dir, "state");
    expect(covenant(["run", "--quiet", "--state", state, policy]).code).toBe(0);
    writeFileSync(file, "limit = 9\n");
    expect(covenant(["run", "--quiet", "--state", state, policy]).code).toBe(1);
    const approve = covenant(["approve", "ITGC-CM-03", "--reason", "CHG-42 raise the limit", "--by", "Alice Admin", "--policy", policy, "--state", state]);
    expect(approve.code).toBe(0);
    const r = covenant(["report", "--from", today, "--to", today, "--format", "json", "--tz", "UTC", "--state", state]);
    expect(r.err).toBe("");
    const c = (JSON.parse(r.out) as { controls: { operation: { integrity: { approved: { how: string; by?: string; reason?: string }[]; unapproved: { paths: string[]; kinds: string[] }[] }; episodes: { resolvedBy?: string }[] } }[] }).controls[0]!;
    expect(c.operation.integrity.unapproved).toEqual([expect.objectContaining({ paths: [file], kinds: expect.arrayContaining(["content"]) })]);
    expect(c.operation.integrity.approved.map((a) => a.how)).toEqual(["first-seen", "approve"]);
    expect(c.operation.integrity.approved[1]).toMatchObject({ by: "Alice Admin", reason: "CHG-42 raise the limit" });
    expect(c.operation.episodes).toEqual([expect.objectContaining({ resolvedBy: "kept" })]);
  });

  it("refuses bad input with exit 2 and words", () => {
    const cases: [string[], RegExp][] = [
      [["--from", "2026-02-30", "--to", today], /not a date on the calendar/],
      [["--from", today, "--to", "2020-01-01"], /before --from/],
      [["--from", today, "--to", today, "--control", "NOPE-1"], /no control NOPE-1 in the period/],
      [["--from", today, "--to", today, "--tz", "Mars/Olympus"], /not a time zone/],
      [["--from", today, "--to", today, "--sample", "5"], /--sample and --seed go together/],
      [["--from", today, "--to", today, "--sample", "0", "--seed", "s"], /--sample wants a whole number/],
      [["--from", today, "--to", today, "--format", "csv"], /give --out DIR/],
      [["--from", today, "--to", today, "--list", "many"], /--list wants a whole number or `all`/],
    ];
    for (const [args, message] of cases) {
      const r = covenant(["report", "--format", "json", ...args, "--state", h.state]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/at .*\.js:\d+/);
    }
    const none = covenant(["report", "--from", today, "--to", today, "--format", "json", "--state", join(h.dir, "nothing")]);
    expect(none.code).toBe(2);
  });

  it("lists every episode in JSON unless --list says otherwise, and says how many of how many in Markdown", () => {
    const json = (extra: string[]) => JSON.parse(covenant(["report", "--from", today, "--to", today, "--format", "json", ...extra, "--state", h.state]).out) as { controls: { operation: { episodes: unknown[]; listing: unknown } }[] };
    expect(json([]).controls[0]!.operation.listing).toEqual({ limit: null, episodes: { total: 1, listed: 1, deficiencies: 1, openAtEnd: 0 }, repairs: { total: 0, listed: 0 } });
    const none = json(["--list", "0"]).controls[0]!.operation;
    expect(none.episodes).toEqual([]);
    expect(none.listing).toEqual({ limit: 0, episodes: { total: 1, listed: 0, deficiencies: 1, openAtEnd: 0 }, repairs: { total: 0, listed: 0 } });
    expect(json(["--list", "all"]).controls[0]!.operation.episodes).toHaveLength(1);
    const md = covenant(["report", "--from", today, "--to", today, "--format", "md", "--list", "0", "--state", h.state]);
    expect(md.code).toBe(0);
    expect(md.out).toContain("0 of 1 episode listed: the longest, then the most recent.");
    expect(covenant(["report", "--from", today, "--to", today, "--format", "md", "--state", h.state]).out).not.toContain(" listed: ");
  });

  it("writes the HTML report, self-contained, to stdout or --out", () => {
    const r = covenant(["report", "--from", today, "--to", today, "--format", "html", "--state", h.state]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^<!doctype html>/i);
    expect(r.out).toContain("Content-Security-Policy");
    expect(r.out).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/i);
    const out = join(h.dir, "html-out");
    expect(covenant(["report", "--from", today, "--to", today, "--format", "html", "--out", out, "--state", h.state]).code).toBe(0);
    const written = readFileSync(join(out, "report.html"), "utf8");
    expect(written).toMatch(/^<!doctype html>/i);
    // the same report, but for the instant it was made
    expect(written.length).toBeGreaterThan(r.out.length * 0.9);
  });

  it("never writes through a link given as --out", () => {
    const target = join(h.dir, "elsewhere");
    mkdirSync(target);
    const link = join(h.dir, "link-out");
    symlinkSync(target, link);
    const r = covenant(["report", "--from", today, "--to", today, "--format", "md", "--out", link, "--state", h.state]);
    expect(r.code).toBe(2);
    expect(readdirSync(target)).toEqual([]);
  });

  it("a record altered in the period: the report is still written, says tampered, and the exit is 1", () => {
    const t = host();
    const db = new Database(join(t.state, "state.db"));
    db.prepare("UPDATE ledger SET body = replace(body, '\"drift\"', '\"kept\"') WHERE kind = 'change' AND body LIKE '%\"to\":\"drift\"%'").run();
    db.close();
    const r = covenant(["report", "--from", today, "--to", today, "--format", "json", "--state", t.state]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/TAMPERED/);
    expect(JSON.parse(r.out)).toMatchObject({ integrity: { verdict: "tampered", tampering: { kind: "altered" } } });
  });
});
