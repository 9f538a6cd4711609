// Fleet-wide evidence against real PostgreSQL: three hosts' real stores (made through StateStore
// as `covenant run` records, test/report/report-helpers.ts), their records put in the hub's
// tables as the push path leaves them (each line as pushed, the hub's chain, a receive time the
// test chooses: one host's clock ahead of the hub's), one host's chain forked. The fleet report's
// figures, the group filter, both times and the skew flag; the pack verified with the hub's key
// alone (in-process and by a real `covenant evidence verify`), a changed byte found and named,
// another key refused; and the real `covenant hub report|evidence|key export` processes.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hubChainNext, hubChainStart } from "../../src/store/hub-chain.ts";
import { FleetPackChecker } from "../../src/evidence/fleet-verify.ts";
import { readPack, readPackInto } from "../../src/evidence/read.ts";
import { periodOf } from "../../src/facts/period.ts";
import { lineOf } from "../../src/hub/client/batch.ts";
import { migrate } from "../../src/hub/db/migrations.ts";
import { buildFleetReport, overviewOf, summaryOfHost } from "../../src/hub/evidence/fleet-report.ts";
import { FleetDocuments } from "../../src/hub/evidence/fleet-documents.ts";
import { TemporaryScratch } from "../../src/evidence/scratch.ts";
import { buildReport } from "../../src/report/report-build.ts";
import { writeFleetPack } from "../../src/hub/evidence/fleet-pack.ts";
import { renderFleetHtml } from "../../src/hub/evidence/fleet-html.ts";
import { MAX_LISTED_DEFICIENCIES, type FleetReport } from "../../src/hub/evidence/fleet-model.ts";
import { renderFleetCsv, renderFleetMarkdown } from "../../src/hub/evidence/fleet-text.ts";
import { renderReportHtml } from "../../src/report/report-html.ts";
import { reportJsonPieces } from "../../src/report/report-json.ts";
import { hubSigningKey } from "../../src/hub/signing.ts";
import { StateStore } from "../../src/store/store.ts";
import { launchChromium, openFile } from "../helpers/browser.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { A, at, B, C, recordRun, result } from "../report/report-helpers.ts";
import { removeTempDirs, tempDir } from "../store/helpers.ts";
import { testCertificate, type TestCert } from "./helpers/certs.ts";
import { freshDatabase, type TestDatabase } from "./helpers/pg.ts";

const HOUR = 60; // at() counts minutes
const RUNS = 48; // hourly, 2026-03-01 and 02 (UTC)
const TOLERANCE = 120_000;
let db: TestDatabase;
let pool: pg.Pool;
let cert: TestCert;
let config: string;
const ids: Record<string, string> = {};
const dirs: Record<string, string> = {};

/** A host's store of RUNS hourly runs, `outcome(run index, key)` deciding each promise's. */
function storeOf(outcome: (i: number, key: string) => "kept" | "drift" | "repaired"): string {
  const dir = tempDir("fleet-host");
  const s = StateStore.open(dir);
  for (let i = 0; i < RUNS; i++) recordRun(s, { at: at(i * HOUR), results: [A, B, C].map((k) => result(k, outcome(i, k))) });
  s.close();
  return dir;
}

/** Puts a host and its store's records into the hub's tables, as pushes would, each received `receivedLagMs` after its host time. */
async function seedHost(name: string, group: string, dir: string, receivedLagMs: number, chainStatus = "ok", edit: (line: string, kind: string) => string = (l) => l): Promise<string> {
  const id = randomUUID();
  const s = StateStore.openReadOnly(dir);
  const lines: { seq: number; kind: string; run: number; time: string; line: string }[] = [];
  try {
    s.scanHistory({}, (r) => lines.push({ seq: r.seq, kind: r.kind, run: r.run, time: r.time, line: edit(lineOf(r), r.kind) }));
  } finally {
    s.close();
  }
  let chain = hubChainStart(id);
  await pool.query("INSERT INTO hub_hosts (id, name, public_key, fingerprint, host_group, last_chain, enrolled_at, chain_status) VALUES ($1, $2, $3, $4, $5, $6, '2026-02-01', $7)", [id, name, Buffer.alloc(32, name.length), `ed25519:${id.replace(/-/g, "")}`, group, chain, chainStatus]);
  for (const l of lines) {
    chain = hubChainNext(chain, l.line);
    await pool.query("INSERT INTO hub_records (host_id, epoch, seq, kind, run, host_time, received_at, chain, line) VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8)", [id, l.seq, l.kind, l.run, l.time, new Date(Date.parse(l.time) + receivedLagMs), chain, l.line]);
  }
  await pool.query("UPDATE hub_hosts SET last_seq = $2, last_chain = $3, records = $4 WHERE id = $1", [id, lines.at(-1)!.seq, chain, lines.length]);
  return id;
}

beforeAll(async () => {
  db = await freshDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 3 });
  const client = await pool.connect();
  try {
    await migrate(client);
  } finally {
    client.release();
  }
  cert = await testCertificate();
  config = join(cert.dir, "hub.yaml");
  writeFileSync(config, `listen: { host: 127.0.0.1, port: 0 }\ntls: { cert: ${cert.cert}, key: ${cert.key} }\ndatabase: { url: "${db.url}" }\nclockTolerance: 2m\nsigningKey: ${join(cert.dir, "hub-signing.key")}\n`);
  hubSigningKey(join(cert.dir, "hub-signing.key"));
  // web-01: B drifts at run 10 and is repaired at run 14; its clock agrees with the hub's (received 5 s later)
  dirs["web-01"] = storeOf((i, k) => (k === B && i >= 10 && i < 14 ? "drift" : k === B && i === 14 ? "repaired" : "kept"));
  ids["web-01"] = await seedHost("web-01", "web", dirs["web-01"], 5_000);
  // web-01 said its deficiency key id, as every push does (web-02 and db-01 are hosts that never did)
  const said = StateStore.openReadOnly(dirs["web-01"]);
  try {
    await pool.query("UPDATE hub_hosts SET deficiency_key = $2 WHERE id = $1", [ids["web-01"], said.deficiencyKeyId]);
  } finally {
    said.close();
  }
  // web-02: every promise kept; its clock 10 minutes ahead of the hub's (its records received "before" they were written)
  ids["web-02"] = await seedHost("web-02", "web", storeOf(() => "kept"), -600_000);
  // db-01: C drifts from run 20 to the end; the hub found its chain forked
  ids["db-01"] = await seedHost("db-01", "db", storeOf((i, k) => (k === C && i >= 20 ? "drift" : "kept")), 3_000, "fork");
  await pool.query("INSERT INTO hub_incidents (host_id, kind, epoch, seq, message, opened_at, last_seen_at) VALUES ($1, 'fork', 0, 30, 'record 30 differs from what the host sent before: its history was rewritten', '2026-03-01T18:00:00Z', '2026-03-01T18:00:00Z')", [ids["db-01"]]);
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await db?.drop();
  removeTempDirs();
});

const period = () => periodOf("2026-03-01", "2026-03-02", "UTC");
const options = (over: { group?: string; controls?: string[] } = {}) => ({ period: period(), controls: over.controls ?? [], ...(over.group ? { group: over.group } : {}), toleranceMs: TOLERANCE, hubFingerprint: "ed25519:test", generator: "test", now: new Date("2026-03-05T00:00:00Z") });

describe("the fleet report", () => {
  it("gives each control's operation across the hosts, each host's chain as the hub judged it, and the hub's receive time beside the host's clock", async () => {
    const r = await buildFleetReport(pool, options());
    expect(r.hosts.map((h) => h.name)).toEqual(["db-01", "web-01", "web-02"]);
    expect(r.summary).toMatchObject({ hosts: 3, hostsInDoubt: 1, hostsClockAhead: 1, controls: 2 });
    const c1 = r.controls.find((c) => c.id === "C-1")!;
    expect(c1.design?.title).toBe("Ledger files are private");
    expect(c1.hosts.map((h) => [h.name, h.evaluations, h.episodes])).toEqual([["db-01", RUNS, 0], ["web-01", RUNS, 1], ["web-02", RUNS, 0]]);
    expect(c1.totals).toMatchObject({ hosts: 3, evaluations: 3 * RUNS, episodes: 1, repairs: 1 });
    expect(c1.totals.remediation).toMatchObject({ resolved: 1, medianMs: 4 * 3_600_000 });
    const c2 = r.controls.find((c) => c.id === "C-2")!;
    expect(c2.hosts.find((h) => h.name === "db-01")).toMatchObject({ episodes: 1, openAtEnd: 1 });
    // both times of the episode's records: the host's clock, and when the hub received them
    const web01 = r.hosts.find((h) => h.name === "web-01")!;
    const episode = web01.report.controls.find((c) => c.id === "C-1")!.operation.episodes[0]!;
    expect(episode.opened).toBe(at(10 * HOUR).replace(/\.\d+Z$/, ".000Z"));
    expect(Date.parse(web01.received[String(episode.openedRecord)]!) - Date.parse(episode.opened)).toBe(5_000);
    expect(web01.received[String(episode.resolvedRecord)]).toBeDefined();
    // the episode's id is the host's own, as its own report names it; a host that never said its key id gets the hub's
    const own = StateStore.openReadOnly(dirs["web-01"]!);
    try {
      const hostReport = buildReport(own, { period: period(), generator: "test", now: new Date("2026-03-05T00:00:00Z") });
      expect(episode.id).toMatch(/^d-/);
      expect(episode.id).toBe(hostReport.controls.find((c) => c.id === "C-1")!.operation.episodes[0]!.id);
    } finally {
      own.close();
    }
    const dbEpisode = r.hosts.find((h) => h.name === "db-01")!.report.controls.find((c) => c.id === "C-2")!.operation.episodes[0]!;
    expect(dbEpisode.id).toMatch(/^h-/);
    // the skew: web-02's records carry a host time 10 minutes after the hub received them
    const web02 = r.hosts.find((h) => h.name === "web-02")!;
    expect(web02.clock.ahead.count).toBe(web02.chain.records);
    expect(web02.clock.ahead.list[0]!.deltaMs).toBe(600_000);
    expect(web01.clock.ahead.count + web01.clock.behind.count).toBe(0);
    // the fork: the hub's status and the period's incident; the chain the hub holds still links
    const db01 = r.hosts.find((h) => h.name === "db-01")!;
    expect(db01.chain).toMatchObject({ status: "fork", verdict: "intact" });
    expect(db01.chain.incidents.map((i) => i.kind)).toEqual(["fork"]);
    expect(web01.report.integrity.notes[0]).toContain("the hub's own chain");
  });

  it("reports one host group only, and one control when asked", async () => {
    const web = await buildFleetReport(pool, options({ group: "web" }));
    expect(web.hosts.map((h) => h.name)).toEqual(["web-01", "web-02"]);
    expect(web.summary).toMatchObject({ hosts: 2, hostsInDoubt: 0 });
    const one = await buildFleetReport(pool, options({ controls: ["C-2"] }));
    expect(one.controls.map((c) => c.id)).toEqual(["C-2"]);
    expect(one.hosts.every((h) => h.report.controls.every((c) => c.id === "C-2"))).toBe(true);
    await expect(buildFleetReport(pool, options({ group: "nobody" }))).rejects.toThrow(/no host .* group "nobody"/);
    await expect(buildFleetReport(pool, options({ controls: ["C-9"] }))).rejects.toThrow(/C-9/);
  });

  it("finds a record changed in the hub's database: the host's chain is broken there", async () => {
    const id = ids["web-02"]!;
    const row = (await pool.query<{ line: string }>("SELECT line FROM hub_records WHERE host_id = $1 AND seq = 20", [id])).rows[0]!;
    await pool.query("UPDATE hub_records SET line = $2 WHERE host_id = $1 AND seq = 20", [id, row.line.replace('"kind":"', '"kind":"x')]);
    try {
      const r = await buildFleetReport(pool, options({ group: "web" }));
      const web02 = r.hosts.find((h) => h.name === "web-02")!;
      expect(web02.chain).toMatchObject({ verdict: "broken", problem: { seq: 20 } });
      expect(r.summary.hostsInDoubt).toBe(1);
    } finally {
      await pool.query("UPDATE hub_records SET line = $2 WHERE host_id = $1 AND seq = 20", [id, row.line]);
    }
  });

  it("draws a fleet's hundreds of thousands of episodes as Markdown and CSV (no call given them all as arguments)", async () => {
    const r = await buildFleetReport(pool, options());
    const c1 = r.hosts.find((h) => h.name === "web-01")!.report.controls.find((c) => c.id === "C-1")!;
    const first = c1.operation.episodes.find((e) => !e.notice)!;
    c1.operation.episodes = Array.from({ length: 300_000 }, () => first);
    expect(renderFleetMarkdown(r).split("\n").filter((l) => l.startsWith("| web-01 | C-1 |"))).toHaveLength(300_000);
    expect(renderFleetCsv(r).get("fleet-episodes.csv")!.split("\r\n").length).toBeGreaterThan(300_000);
    // a page lists a bounded few of them, and says how many more there are
    const web01 = overviewOf(r).hosts.find((h) => h.name === "web-01")!;
    expect(web01.deficiencies.length).toBeLessThanOrEqual(MAX_LISTED_DEFICIENCIES);
    expect(web01.deficiencyCount).toBeGreaterThanOrEqual(300_000);
  }, 180_000);

  it("makes a host at a time, through scratch files read back in many chunks, the bytes of the report built whole (a character cut between two chunks included)", async () => {
    const r = await buildFleetReport(pool, options());
    const c1 = r.hosts.find((h) => h.name === "web-01")!.report.controls.find((c) => c.id === "C-1")!;
    const first = c1.operation.episodes.find((e) => !e.notice)!;
    // ~6 MB of fleet.json in this host alone, its reasons of 2-, 3- and 4-byte characters
    c1.operation.episodes = Array.from({ length: 20_000 }, (_, i) => ({ ...first, reason: `é€😀 ${i} ${"x".repeat(i % 7)}` }));
    const scratches: TemporaryScratch[] = [];
    const documents = new FleetDocuments(() => {
      const s = new TemporaryScratch();
      scratches.push(s);
      return s;
    }, TOLERANCE);
    try {
      r.hosts.forEach((h, i) => documents.add(h, summaryOfHost(h), i));
      const made = new Map<string, string>();
      for (const [name, pieces] of documents.files(overviewOf(r))) {
        // each piece copied as it comes: a chunk is valid only until the next is asked for
        const parts: Buffer[] = [];
        for (const p of pieces) parts.push(Buffer.from(p));
        made.set(name, Buffer.concat(parts).toString("utf8"));
      }
      expect(made.get("fleet.json")!.length).toBeGreaterThan(3_000_000);
      expect(made.get("fleet.json")).toBe(JSON.stringify(r, null, 2) + "\n");
      expect(made.get("fleet.html")).toBe(renderFleetHtml(r));
      expect(made.get("fleet.md")).toBe(renderFleetMarkdown(r));
      for (const [name, text] of renderFleetCsv(r)) expect(made.get(name)).toBe(text);
    } finally {
      for (const s of scratches) s.close();
    }
  }, 180_000);

  it("draws escaped HTML with both times and the flags, needing no script", async () => {
    await pool.query("UPDATE hub_hosts SET name = $2 WHERE id = $1", [ids["web-02"], "web-02<script>alert(1)</script>"]);
    try {
      const html = renderFleetHtml(await buildFleetReport(pool, options()));
      expect(html).not.toContain("<script>");
      expect(html).toContain("web-02&lt;script&gt;");
      expect(html).toContain("hub received:");
      expect(html).toMatch(/class="flag">\d+ records carry a host time later than the hub received them/);
      expect(html).toContain('data-chain="doubt"');
    } finally {
      await pool.query("UPDATE hub_hosts SET name = 'web-02' WHERE id = $1", [ids["web-02"]]);
    }
  });
});

describe("the fleet report's page in real Chromium", () => {
  it("shows the figures, a host's chain in doubt, both times and the clock flag, with no script, no console error, no CSP violation, nothing fetched", async () => {
    const file = join(tempDir("fleet-html"), "fleet.html");
    writeFileSync(file, renderFleetHtml(await buildFleetReport(pool, options())));
    const browser = await launchChromium();
    try {
      // scripts on: the page has none, and the CSP watcher the harness puts in needs them
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const w = await openFile(context, file);
      const figure = (id: string) => w.page.locator(`[data-figure="${id}"]`).innerText();
      expect(await figure("hosts")).toBe("3");
      expect(await figure("hosts-in-doubt")).toBe("1");
      expect(await figure("hosts-clock-ahead")).toBe("1");
      expect(await w.page.locator('section[data-host="db-01"] [data-chain="doubt"]').innerText()).toContain("fork");
      const episode = w.page.locator('section[data-host="web-01"] table.episodes tbody tr').first();
      expect(await episode.innerText()).toMatch(/2026-03-01 10:00:00 UTC\s+hub received: 2026-03-01 10:00:0\d UTC/);
      expect(await w.page.locator('section[data-host="web-02"] [data-clock="ahead"]').innerText()).toMatch(/records carry a host time later than the hub received them by more than 2 min/);
      expect(await w.page.locator('table.fleet-control[data-control="C-1"] tr[data-host="web-01"]').innerText()).toContain("48");
      expect(w.errors).toEqual([]);
      expect(await w.cspViolations()).toEqual([]);
      expect(w.requests.every((u) => u.startsWith("file:"))).toBe(true);
      await context.close();
    } finally {
      await browser.close();
    }
  }, 60_000);
});

async function verdictOf(path: string, pem: string) {
  const { createPublicKey } = await import("node:crypto");
  const checker = new FleetPackChecker(createPublicKey(pem));
  await readPackInto(path, (name) => checker.file(name));
  return checker.verdict();
}

describe("the fleet evidence pack", () => {
  it("verifies with the hub's public key alone; a changed byte is found and named; another key is refused", async () => {
    const key = hubSigningKey(join(cert.dir, "hub-signing.key"), false);
    const out = join(tempDir("fleet-pack"), "web-2026-03");
    const pack = await writeFleetPack(pool, out, { ...options({ group: "web" }), key });
    const { dir, archive } = pack;
    const pem = key.publicKey.export({ type: "spki", format: "pem" }).toString();
    for (const p of [dir, archive]) {
      const v = await verdictOf(p, pem);
      expect(v.problems).toEqual([]);
      expect(v.intact).toBe(true);
    }
    expect(pack.manifest.hosts.map((h) => h.name)).toEqual(["web-01", "web-02"]);
    expect(pack.manifest.hosts[0]!.extract.count).toBeGreaterThan(RUNS);
    expect(pack.manifest.policies).toHaveLength(1);
    const chainLines = readFileSync(join(dir, "hosts", ids["web-01"]!, "chain.jsonl"), "utf8").trim().split("\n");
    expect(JSON.parse(chainLines[1]!)).toMatchObject({ receivedAt: expect.stringMatching(/^2026-03-01T00:00:0\d/) });
    // a byte of one host's records changed: that file is named
    const history = join(dir, "hosts", ids["web-02"]!, "history.jsonl");
    const bytes = readFileSync(history);
    bytes[200] = bytes[200] === 0x30 ? 0x31 : 0x30;
    writeFileSync(history, bytes);
    const bad = await verdictOf(dir, pem);
    expect(bad.intact).toBe(false);
    expect(bad.problems.map((p) => p.file)).toContain(`hosts/${ids["web-02"]}/history.jsonl`);
    // another key: the signature is refused
    const other = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
    const wrongKey = await verdictOf(archive, other);
    expect(wrongKey.intact).toBe(false);
    expect(wrongKey.problems[0]).toMatchObject({ file: "manifest.sig" });
  });
});

describe("the pack written host by host", () => {
  it("holds the same fleet report, in every format, as the report built whole, and each host's own report as `covenant report` draws it", async () => {
    const key = hubSigningKey(join(cert.dir, "hub-signing.key"), false);
    const pack = await writeFleetPack(pool, join(tempDir("fleet-same"), "all"), { ...options(), key });
    const whole = await buildFleetReport(pool, { ...options(), hubFingerprint: key.fingerprint });
    const read = (name: string) => readFileSync(join(pack.dir, "reports", name), "utf8");
    expect(read("fleet.json")).toBe(JSON.stringify(whole, null, 2) + "\n");
    expect(read("fleet.html")).toBe(renderFleetHtml(whole));
    expect(read("fleet.md")).toBe(renderFleetMarkdown(whole));
    for (const [name, text] of renderFleetCsv(whole)) expect(read(name)).toBe(text);
    for (const h of whole.hosts) {
      expect(read(`hosts/${h.id}.json`)).toBe([...reportJsonPieces(h.report)].join(""));
      expect(read(`hosts/${h.id}.html`)).toBe(renderReportHtml(h.report));
    }
    // the archive holds each host's chain before its records (entries by name): a verifier spills neither
    const names = (await readPack(pack.archive)).map((f) => f.name);
    for (const h of whole.hosts) expect(names.indexOf(`hosts/${h.id}/chain.jsonl`)).toBeLessThan(names.indexOf(`hosts/${h.id}/history.jsonl`));
  });
});

describe("a host's own choice of policy paths", () => {
  it("leaves a version whose pushed path climbs out of the pack, saying so in the manifest, and the pack still verifies", async () => {
    const climbing = (line: string, kind: string) => (kind === "policy" ? line.replace('"path":"/etc/covenant/policies/ledger.promise"', '"path":"/etc/../../../tmp/x.promise"') : line);
    const id = await seedHost("odd-01", "odd", storeOf(() => "kept"), 1_000, "ok", climbing);
    try {
      const key = hubSigningKey(join(cert.dir, "hub-signing.key"), false);
      const pack = await writeFleetPack(pool, join(tempDir("odd-pack"), "odd"), { ...options({ group: "odd" }), key });
      expect(pack.manifest.policies).toEqual([]);
      expect(pack.manifest.policiesNotIncluded).toMatchObject([{ host: id, why: expect.stringMatching(/not a plain absolute path|do not make/) }]);
      expect(pack.manifest.files.every((f) => !f.path.includes(".."))).toBe(true);
      const { archive } = pack;
      const v = await verdictOf(archive, key.publicKey.export({ type: "spki", format: "pem" }).toString());
      expect(v.problems).toEqual([]);
    } finally {
      await pool.query("DELETE FROM hub_records WHERE host_id = $1", [id]);
      await pool.query("DELETE FROM hub_hosts WHERE id = $1", [id]);
    }
  });
});

describe("the commands", () => {
  it("covenant hub key export, hub evidence, evidence verify and hub report, as real processes", async () => {
    ensureBuilt();
    const dir = tempDir("fleet-cli");
    const pub = join(dir, "hub.pub.pem");
    const exported = covenant(["hub", "key", "export", "--config", config, "--out", pub]);
    expect(exported.code, exported.err).toBe(0);
    expect(exported.err).toMatch(/ed25519:[0-9a-f]{32}/);
    const made = covenant(["hub", "evidence", "--config", config, "--from", "2026-03-01", "--to", "2026-03-02", "--out", join(dir, "pack")]);
    expect(made.code, made.err).toBe(0);
    expect(made.err).toContain("1 host(s) whose chain the hub holds in doubt");
    const ok = covenant(["evidence", "verify", join(dir, "pack.tar.gz"), "--public-key", pub]);
    expect(ok.code, ok.out + ok.err).toBe(0);
    expect(ok.out).toContain("intact: the fleet pack of the whole fleet");
    expect(ok.out).toContain("db-01");
    const manifest = join(dir, "pack", "manifest.json");
    writeFileSync(manifest, readFileSync(manifest, "utf8").replace('"count": ', '"count": 1'));
    const bad = covenant(["evidence", "verify", join(dir, "pack"), "--public-key", pub]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain("manifest.sig");
    const report = covenant(["hub", "report", "--config", config, "--from", "2026-03-01", "--to", "2026-03-02", "--group", "db", "--format", "json"]);
    expect(report.code, report.err).toBe(0);
    const parsed = JSON.parse(report.out) as { hosts: { name: string }[]; summary: { hostsInDoubt: number } };
    expect(parsed.hosts.map((h) => h.name)).toEqual(["db-01"]);
    expect(parsed.summary.hostsInDoubt).toBe(1);
    const audited = await pool.query<{ action: string }>("SELECT action FROM hub_audit ORDER BY id");
    expect(audited.rows.map((r) => r.action)).toEqual(["evidence.export", "evidence.report"]);
  }, 120_000);

  it("covenant hub report, made a host at a time, writes in every format the bytes of the report built whole", async () => {
    ensureBuilt();
    const dir = tempDir("fleet-report-formats");
    const now = "2026-03-05T00:00:00.000Z";
    const json = covenant(["hub", "report", "--config", config, "--from", "2026-03-01", "--to", "2026-03-02", "--format", "json", "--now", now]);
    expect(json.code, json.err).toBe(0);
    const printed = JSON.parse(json.out) as FleetReport;
    const whole = await buildFleetReport(pool, { ...options(), hubFingerprint: printed.hub.fingerprint, generator: printed.generator, now: new Date(now) });
    expect(json.out).toBe(JSON.stringify(whole, null, 2) + "\n");
    for (const format of ["html", "md", "csv"]) {
      const r = covenant(["hub", "report", "--config", config, "--from", "2026-03-01", "--to", "2026-03-02", "--format", format, "--now", now, "--out", join(dir, format)]);
      expect(r.code, r.err).toBe(0);
    }
    expect(readFileSync(join(dir, "html", "fleet.html"), "utf8")).toBe(renderFleetHtml(whole));
    expect(readFileSync(join(dir, "md", "fleet.md"), "utf8")).toBe(renderFleetMarkdown(whole));
    for (const [name, text] of renderFleetCsv(whole)) expect(readFileSync(join(dir, "csv", name), "utf8")).toBe(text);
  }, 120_000);

  it("covenant hub report makes no --out directory for a report it refuses (a bad date, a missing configuration)", () => {
    ensureBuilt();
    const dir = tempDir("fleet-report-refused");
    const badDate = covenant(["hub", "report", "--config", config, "--from", "2026-02-30", "--to", "2026-03-02", "--out", join(dir, "bad-date")]);
    expect([badDate.code, badDate.err]).toEqual([2, expect.stringContaining("2026-02-30")]);
    const noConfig = covenant(["hub", "report", "--config", join(dir, "missing.yaml"), "--from", "2026-03-01", "--to", "2026-03-02", "--out", join(dir, "no-config")]);
    expect(noConfig.code).toBe(2);
    expect(existsSync(join(dir, "bad-date")) || existsSync(join(dir, "no-config"))).toBe(false);
  });

  it("writes a fleet pack through no link, FIFO or someone's file put where it goes (--out, its .tar.gz), and leaves them as they were", async () => {
    ensureBuilt();
    const dir = tempDir("fleet-out-attack");
    const target = join(dir, "precious");
    writeFileSync(target, "precious\n");
    const attempt = (out: string) => covenant(["hub", "evidence", "--config", config, "--from", "2026-03-01", "--to", "2026-03-01", "--group", "db", "--out", out]);
    // the archive's name is a link to a file of the attacker's choosing
    symlinkSync(target, join(dir, "a.tar.gz"));
    let r = attempt(join(dir, "a"));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/a\.tar\.gz exists: choose another --out/);
    // --out itself a link, another user's, to a directory elsewhere (root's own links are root's choice, and followed)
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync(join(dir, "elsewhere"), join(dir, "b"));
    if (process.geteuid?.() === 0) {
      lchownSync(join(dir, "b"), 65534, 65534);
      r = attempt(join(dir, "b"));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/the link .*\/b, on the way to the pack .*, is owned by uid 65534, not root/);
      expect(readdirSync(join(dir, "elsewhere"))).toEqual([]);
    }
    // the archive's name a FIFO: refused at once, nobody's reader left waiting
    execFileSync("mkfifo", [join(dir, "c.tar.gz")]);
    r = attempt(join(dir, "c"));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/c\.tar\.gz exists/);
    expect(readFileSync(target, "utf8")).toBe("precious\n");
    expect(lstatSync(join(dir, "a.tar.gz")).isSymbolicLink()).toBe(true);
    expect(existsSync(join(dir, "a"))).toBe(false);
    expect(existsSync(join(dir, "c"))).toBe(false);
  }, 120_000);
});
