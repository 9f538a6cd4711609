// Attacks on the fleet report's documents (made from scratch files: fleet-documents.ts) and on
// `covenant hub report --out` / its temporary files, against real PostgreSQL and real processes.
// A host pushes a hostile name and hostile episode reasons (markup, a spreadsheet formula,
// newlines, U+2028, a lone surrogate, text shaped like the marks fleet.json is spliced at): the
// JSON stays JSON.stringify of the report, the HTML escaped, the CSV inert. --out's files through
// a link, a hard link or a FIFO are refused, said, and left as they were; as root, an --out or a
// TMPDIR another user controls is refused.
import { randomUUID } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hubChainNext, hubChainStart } from "../../src/store/hub-chain.ts";
import { periodOf } from "../../src/facts/period.ts";
import { lineOf } from "../../src/hub/client/batch.ts";
import { migrate } from "../../src/hub/db/migrations.ts";
import { buildFleetReport } from "../../src/hub/evidence/fleet-report.ts";
import { renderFleetHtml } from "../../src/hub/evidence/fleet-html.ts";
import type { FleetReport } from "../../src/hub/evidence/fleet-model.ts";
import { renderFleetCsv, renderFleetMarkdown } from "../../src/hub/evidence/fleet-text.ts";
import { hubSigningKey } from "../../src/hub/signing.ts";
import { StateStore } from "../../src/store/store.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { A, at, B, recordRun, result } from "../report/report-helpers.ts";
import { removeTempDirs, tempDir } from "../store/helpers.ts";
import { testCertificate } from "./helpers/certs.ts";
import { freshDatabase, type TestDatabase } from "./helpers/pg.ts";

const HOSTILE_NAME = `=HYPERLINK("http://evil")<script>alert(1)</script>\u2028"covenant-fleet-hosts-00"\ud800`;
const HOSTILE_REASON = `@SUM(1+1)\n| forged | row |\r\n<img src=x onerror=alert(1)>\u2028"covenant-host-report-00"`;
let db: TestDatabase;
let pool: pg.Pool;
let config: string;
const isRoot = process.geteuid?.() === 0;

beforeAll(async () => {
  ensureBuilt();
  db = await freshDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const client = await pool.connect();
  try {
    await migrate(client);
  } finally {
    client.release();
  }
  const cert = await testCertificate();
  config = join(cert.dir, "hub.yaml");
  writeFileSync(config, `listen: { host: 127.0.0.1, port: 0 }\ntls: { cert: ${cert.cert}, key: ${cert.key} }\ndatabase: { url: "${db.url}" }\nclockTolerance: 2m\nsigningKey: ${join(cert.dir, "hub-signing.key")}\n`);
  hubSigningKey(join(cert.dir, "hub-signing.key"));
  // one host: B drifts (with the hostile reason) from run 2 to 5, repaired at 6
  const dir = tempDir("attack-fleet-host");
  const s = StateStore.open(dir);
  for (let i = 0; i < 12; i++) recordRun(s, { at: at(i * 60), results: [result(A, "kept"), i >= 2 && i < 6 ? result(B, "drift", HOSTILE_REASON) : result(B, i === 6 ? "repaired" : "kept", i === 6 ? HOSTILE_REASON : "as promised")] });
  s.close();
  const id = randomUUID();
  const r = StateStore.openReadOnly(dir);
  const lines: { seq: number; kind: string; run: number; time: string; line: string }[] = [];
  try {
    r.scanHistory({}, (x) => lines.push({ seq: x.seq, kind: x.kind, run: x.run, time: x.time, line: lineOf(x) }));
  } finally {
    r.close();
  }
  let chain = hubChainStart(id);
  await pool.query("INSERT INTO hub_hosts (id, name, public_key, fingerprint, host_group, last_chain, enrolled_at, chain_status) VALUES ($1, $2, $3, $4, $5, $6, '2026-02-01', 'ok')", [id, HOSTILE_NAME, Buffer.alloc(32, 7), `ed25519:${id.replace(/-/g, "")}`, "web", chain]);
  for (const l of lines) {
    chain = hubChainNext(chain, l.line);
    await pool.query("INSERT INTO hub_records (host_id, epoch, seq, kind, run, host_time, received_at, chain, line) VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8)", [id, l.seq, l.kind, l.run, l.time, new Date(Date.parse(l.time) + 1000), chain, l.line]);
  }
  await pool.query("UPDATE hub_hosts SET last_seq = $2, last_chain = $3, records = $4 WHERE id = $1", [id, lines.at(-1)!.seq, chain, lines.length]);
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await db?.drop();
  removeTempDirs();
});

const NOW = "2026-03-05T00:00:00.000Z";
const report = (args: string[], env: Record<string, string> = {}) => covenant(["hub", "report", "--config", config, "--from", "2026-03-01", "--to", "2026-03-02", "--now", NOW, ...args], { env });

describe("a host's hostile name and reasons in the fleet report", () => {
  it("leave fleet.json JSON.stringify of the report, fleet.html escaped, the CSV inert, fleet.md the report's", async () => {
    const json = report(["--format", "json"]);
    expect(json.code, json.err).toBe(0);
    const printed = JSON.parse(json.out) as FleetReport;
    const whole = await buildFleetReport(pool, { period: periodOf("2026-03-01", "2026-03-02", "UTC"), controls: [], toleranceMs: 120_000, hubFingerprint: printed.hub.fingerprint, generator: printed.generator, now: new Date(NOW) });
    expect(json.out).toBe(JSON.stringify(whole, null, 2) + "\n");
    // the name as stored (PostgreSQL keeps no lone surrogate: U+FFFD), the reasons whole
    expect(printed.hosts[0]!.name).toBe(HOSTILE_NAME.replace("\ud800", "\ufffd"));
    expect(json.out).toContain(JSON.stringify(HOSTILE_REASON).slice(1, -1));
    const out = tempDir("attack-fleet-formats");
    for (const format of ["html", "md", "csv"]) expect(report(["--format", format, "--out", join(out, format)]).code).toBe(0);
    const html = readFileSync(join(out, "html", "fleet.html"), "utf8");
    expect(html).toBe(renderFleetHtml(whole));
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain("&lt;script&gt;");
    expect(readFileSync(join(out, "md", "fleet.md"), "utf8")).toBe(renderFleetMarkdown(whole));
    expect(readFileSync(join(out, "md", "fleet.md"), "utf8")).not.toMatch(/^\| forged \| row \|/m);
    for (const [name, text] of renderFleetCsv(whole)) {
      const file = readFileSync(join(out, "csv", name), "utf8");
      expect(file).toBe(text);
      // no cell a spreadsheet would take as a formula: every cell starting =, +, -, @ is quoted text ('=...)
      for (const cell of file.split(/\r\n/).flatMap((l) => l.split(","))) expect(cell, `${name}: ${cell}`).not.toMatch(/^"?[=+@]/);
    }
    expect(readFileSync(join(out, "csv", "fleet-hosts.csv"), "utf8")).toContain("'=HYPERLINK");
  }, 120_000);
});

describe("covenant hub report --out, attacked", () => {
  it("writes no document through a link, a hard link or a FIFO put where it goes: refused (exit 2), said, left as it was", () => {
    const dir = tempDir("attack-fleet-out");
    const precious = join(dir, "precious");
    writeFileSync(precious, "precious\n");
    mkdirSync(join(dir, "link"));
    symlinkSync(precious, join(dir, "link", "fleet.html"));
    let r = report(["--format", "html", "--out", join(dir, "link")]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/cannot write .*link\/fleet\.html: ELOOP \(a link, FIFO or another name of a file is not written through\)/);
    mkdirSync(join(dir, "hard"));
    linkSync(precious, join(dir, "hard", "fleet.html"));
    r = report(["--format", "html", "--out", join(dir, "hard")]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/hard\/fleet\.html: it has 1 other name\(s\) \(a hard link\): remove it first/);
    mkdirSync(join(dir, "fifo"));
    execFileSync("mkfifo", [join(dir, "fifo", "fleet.html")]);
    r = report(["--format", "html", "--out", join(dir, "fifo")]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/fifo\/fleet\.html: (ENXIO|not a regular file)/);
    expect(readFileSync(precious, "utf8")).toBe("precious\n");
  }, 120_000);

  it.runIf(isRoot)("as root, refuses an --out another user owns or a TMPDIR another user can move its files in", () => {
    const dir = tempDir("attack-fleet-owned");
    chmodSync(dir, 0o755);
    const theirs = join(dir, "theirs");
    mkdirSync(theirs);
    chownSync(theirs, 65534, 65534);
    let r = report(["--format", "html", "--out", theirs]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/the report directory .*theirs is owned by uid 65534, not root/);
    // a temporary directory of another user's: they could rename root's mkdtemp away and put a link there
    const tmp = join(dir, "tmp");
    mkdirSync(tmp, { mode: 0o777 });
    chownSync(tmp, 65534, 65534);
    r = report(["--format", "html", "--out", join(dir, "mine")], { TMPDIR: tmp });
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/the temporary directory .*tmp is owned by uid 65534, not root: as root, Covenant makes its temporary files only where no other user can move them; fix: set TMPDIR/);
    // world-writable without the sticky bit, though root's: the same
    chownSync(tmp, 0, 0);
    chmodSync(tmp, 0o777);
    r = report(["--format", "html", "--out", join(dir, "mine2")], { TMPDIR: tmp });
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/the temporary directory .*tmp is writable by group and others/);
    // sticky, as /tmp is: fine
    chmodSync(tmp, 0o1777);
    r = report(["--format", "html", "--out", join(dir, "mine3")], { TMPDIR: tmp });
    expect(r.code, r.err).toBe(0);
  }, 120_000);
});
