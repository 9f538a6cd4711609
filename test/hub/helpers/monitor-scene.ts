// A hub with its fleet monitor for the monitor's tests: a database of its own, a real SMTP server
// on 127.0.0.1 the covenant.yaml hub.yaml names sends to, the hub serving HTTPS with a clock the
// test moves, and monitors made on demand (several may share the database, as hub processes do).
// Hosts are synthetic (synthetic-host.ts): their records are written here as runs would write them.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser, type ParsedMail } from "mailparser";
import { makeEnrollToken } from "../../../src/hub/admin.js";
import { loadHubConfig, type HubConfig } from "../../../src/hub/config.js";
import { FleetMonitor } from "../../../src/hub/monitor/monitor.js";
import { loadMonitorNotify } from "../../../src/hub/monitor/notify.js";
import { startHub, type RunningHub } from "../../../src/hub/serve.js";
import { startSmtpServer, type TestSmtpServer } from "../../helpers/smtp-server.js";
import { testCertificate, type TestCert } from "./certs.js";
import { freshDatabase, type TestDatabase } from "./pg.js";
import { SyntheticHost } from "./synthetic-host.js";

export const minute = 60_000;

export interface MonitorScene {
  db: TestDatabase;
  smtp: TestSmtpServer;
  hub: RunningHub;
  config: HubConfig;
  cert: TestCert;
  dir: string;
  /** the hub's and the monitors' clock, ms since the epoch */
  clock: { now: number };
  log: string[];
  monitor(): FleetMonitor;
  /** a host enrolled with a token of `group` */
  host(name: string, group?: string): Promise<ScenarioHost>;
  mails(): Promise<ParsedMail[]>;
  close(): Promise<void>;
}

const mac = (n: number) => n.toString(16).padStart(64, "0");

/** A synthetic host that pushes runs: each a change record per promise that changed, then the run's summary. */
export class ScenarioHost {
  private seq = 0;
  private run = 0;
  private pushed = 0;
  constructor(
    readonly host: SyntheticHost,
    private readonly scene: Pick<MonitorScene, "hub" | "cert" | "clock">,
  ) {}

  /** A run finished now (the scene's clock), with these promises' changes (from → to), pushed. */
  async runAndPush(changes: { control: string; key?: string; from: string | null; to: string }[] = []): Promise<void> {
    this.run++;
    const at = new Date(this.scene.clock.now).toISOString();
    for (const c of changes) {
      const key = c.key ?? `${c.control}/file/etc`;
      this.host.lines.push(JSON.stringify({ seq: ++this.seq, kind: "change", run: this.run, time: at, body: { key, control: c.control, type: "file", promiser: "/etc/x", from: c.from, to: c.to, reason: `now ${c.to}`, differences: [], changes: [] }, mac: mac(this.seq) }));
    }
    const summary = { run: this.run, kind: "run", host: this.host.name, started: at, finished: at, policy: "ab".repeat(32), dryRun: false, promises: 1, counts: { kept: 1 }, outcomes: "cd".repeat(32), changed: changes.length };
    this.host.lines.push(JSON.stringify({ seq: ++this.seq, kind: "run", run: this.run, time: at, body: summary, mac: mac(this.seq) }));
    const reply = await this.host.push(this.scene.hub.url, this.scene.cert.certPem, this.pushed, this.host.lines.length, { sentAt: new Date(this.scene.clock.now) });
    if (reply.status !== 200) throw new Error(`push refused: ${JSON.stringify(reply.body)}`);
    this.pushed = this.host.lines.length;
  }
}

export interface SceneOptions {
  /** hub.yaml's lines besides listen, tls, database and notify */
  hubYaml?: string;
  /** covenant.yaml's route and delivery */
  route?: string;
}

export async function monitorScene(opts: SceneOptions = {}): Promise<MonitorScene> {
  const db = await freshDatabase();
  const smtp = await startSmtpServer();
  const cert = await testCertificate();
  const dir = mkdtempSync(join(tmpdir(), "hub-monitor-"));
  const passwordFile = join(dir, "smtp.pass");
  writeFileSync(passwordFile, smtp.password, { mode: 0o600 });
  writeFileSync(
    join(dir, "covenant.yaml"),
    `version: 1
stakeholders:
  fleet_ops:
    channels: [mail]
    people:
      - { name: Fleet Ops, email: fleet-ops@example.com }
channels:
  mail:
    type: email
    host: 127.0.0.1
    port: ${smtp.port}
    tls: starttls
    ca_file: ${smtp.caFile}
    auth: { user: ${smtp.user}, password_file: ${passwordFile} }
    from: "Covenant hub <hub@example.com>"
    timeout: 5s
${
  opts.route ??
  `route:
  receivers: [owners]
  group_by: [control, host]
  group_wait: 0s
  group_interval: 30s
  repeat_interval: 4h
  send_resolved: true
delivery: { budget: 10s, max_attempts: 5, backoff: 1m, max_backoff: 10m, failing_after: 3 }`
}
`,
    { mode: 0o600 },
  );
  writeFileSync(
    join(dir, "hub.yaml"),
    `listen: { host: 127.0.0.1, port: 0 }
tls: { cert: ${cert.cert}, key: ${cert.key} }
database: { url: "${db.url}", poolSize: 3 }
notify: covenant.yaml
${opts.hubYaml ?? `cadence: { default: 5m }
silentGrace: 3
massDrift: { hosts: 5, share: 0.5, window: 15m }
deficiencies: { stakeholders: [fleet_ops] }`}
`,
    { mode: 0o600 },
  );
  const config = loadHubConfig(join(dir, "hub.yaml"));
  // from the real time: enrolment dates a host by it
  const clock = { now: Math.ceil(Date.now() / 1000) * 1000 };
  const log: string[] = [];
  // the monitors are the test's own, rounds driven by hand: the hub serves pushes only
  const { monitor: _settings, ...served } = config;
  const hub = await startHub(served, (l) => log.push(l), { now: () => clock.now });
  const monitors: FleetMonitor[] = [];
  const notify = loadMonitorNotify(config.monitor!);
  if (notify.problem) throw new Error(notify.problem);
  return {
    db,
    smtp,
    hub,
    config,
    cert,
    dir,
    clock,
    log,
    monitor() {
      const m = new FleetMonitor({ settings: config.monitor!, connection: { url: db.url, log: (l) => log.push(l) }, notify: notify.config!, now: () => clock.now, log: (l) => log.push(l) });
      monitors.push(m);
      return m;
    },
    async host(name, group) {
      const h = new SyntheticHost(name);
      const { token } = await makeEnrollToken(hub.pool, { validForMs: 3600_000, actor: "test", now: new Date(clock.now), ...(group !== undefined ? { group } : {}) });
      const r = await h.enroll(hub.url, cert.certPem, token);
      if (r.status !== 201) throw new Error(`enrolment refused: ${JSON.stringify(r.body)}`);
      return new ScenarioHost(h, { hub, cert, clock });
    },
    mails: () => Promise.all(smtp.messages.map((m) => simpleParser(m.raw))),
    async close() {
      for (const m of monitors) await m.stop();
      await hub.close();
      await smtp.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(cert.dir, { recursive: true, force: true });
    },
  };
}
