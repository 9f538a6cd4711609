// hub.yaml's monitor settings (defaults, every mistake an error naming the setting), the cadence
// a host is held to (configured for its group, a default, learned from its runs, a fallback), and
// `hub serve` running the monitor with the covenant.yaml it names, refusing a bad one before it starts.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubConfigError, loadHubConfig } from "../../src/hub/config.js";
import { cadenceOf, FALLBACK_MS, learnedInterval, MIN_LEARNED_MS, showDuration } from "../../src/hub/monitor/cadence.js";
import { startHub } from "../../src/hub/serve.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { freshDatabase } from "./helpers/pg.js";

let dir: string;
let cert: TestCert;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hub-settings-"));
  cert = await testCertificate();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(cert.dir, { recursive: true, force: true });
});

function hubYaml(extra: string, url = "postgres://postgres@127.0.0.1:5432/x"): string {
  const path = join(dir, `hub-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, `tls: { cert: ${cert.cert}, key: ${cert.key} }\ndatabase: { url: "${url}" }\nlisten: { port: 0 }\n${extra}\n`, { mode: 0o600 });
  return path;
}

const at = (minutes: number) => new Date(Date.UTC(2026, 11, 6, 8, minutes)).toISOString();

describe("hub.yaml's monitor settings", () => {
  it("has defaults: every minute, a grace of 3, waves of 5 hosts or half within 15 minutes, the hub's own controls", () => {
    const m = loadHubConfig(hubYaml("")).monitor!;
    expect(m).toMatchObject({ intervalMs: 60_000, silentGrace: 3, cadence: { groups: {} }, massDrift: { hosts: 5, share: 0.5, windowMs: 900_000 } });
    expect(m.notify).toBeUndefined();
    expect(m.controls.silent).toMatchObject({ id: "COVENANT-HUB-SILENT", severity: "high", stakeholders: [] });
    expect(m.controls.chain).toMatchObject({ id: "COVENANT-HUB-CHAIN", severity: "critical" });
  });

  it("reads every setting, a relative notify path from hub.yaml's directory, shared stakeholders added to each kind's", () => {
    const m = loadHubConfig(
      hubYaml(`notify: covenant.yaml
monitor: { interval: 30s }
cadence: { default: 10m, groups: { ledger: 1m } }
silentGrace: 2.5
massDrift: { hosts: 8, share: 0.25, window: 1h }
deficiencies:
  stakeholders: [fleet_ops]
  silent: { title: "Hosts report", severity: medium, owner: ops, stakeholders: [noc] }
  chain: { id: SOX-HUB-02 }`),
    ).monitor!;
    expect(m.notify).toBe(join(dir, "covenant.yaml"));
    expect(m).toMatchObject({ intervalMs: 30_000, silentGrace: 2.5, cadence: { defaultMs: 600_000, groups: { ledger: 60_000 } }, massDrift: { hosts: 8, share: 0.25, windowMs: 3_600_000 } });
    expect(m.controls.silent).toEqual({ id: "COVENANT-HUB-SILENT", title: "Hosts report", severity: "medium", owner: "ops", stakeholders: ["fleet_ops", "noc"] });
    expect(m.controls.chain).toMatchObject({ id: "SOX-HUB-02", stakeholders: ["fleet_ops"] });
    expect(m.controls.massDrift.stakeholders).toEqual(["fleet_ops"]);
  });

  it.each([
    ["monitor: { interval: soon }", /monitor\.interval "soon" is not a duration/],
    ["monitor: { every: 1m }", /unknown setting monitor\.every/],
    ["cadence: { default: 0s }", /cadence\.default must be at least 1s/],
    ["cadence: { groups: { ledger: fast } }", /cadence\.groups\.ledger "fast"/],
    ["silentGrace: 0.5", /silentGrace must be a number from 1 to 100/],
    ["massDrift: { hosts: 1 }", /massDrift\.hosts must be a whole number of at least 2/],
    ["massDrift: { share: 2 }", /massDrift\.share must be a fraction/],
    ["massDrift: { window: 10s }", /massDrift\.window must be at least 60s/],
    ["deficiencies: { silent: { severity: urgent } }", /deficiencies\.silent\.severity must be one of low, medium, high, critical/],
    ["deficiencies: { massDrift: { id: X } }", /deficiencies\.massDrift\.id cannot be set/],
    ["deficiencies: { stakeholders: [\"a b\"] }", /deficiencies\.stakeholders must be a list of stakeholder names/],
    ["notify: 3", /notify must be the path of a covenant\.yaml/],
    ["monitr: {}", /unknown setting "monitr"/],
  ])("refuses %s, naming the setting", (yaml, message) => {
    const path = hubYaml(yaml);
    expect(() => loadHubConfig(path)).toThrow(HubConfigError);
    expect(() => loadHubConfig(path)).toThrow(message);
  });
});

describe("the cadence a host is held to", () => {
  const settings = { cadence: { groups: { ledger: 60_000 } } };
  it("learns the median interval between its last runs' finish times, leaving out what it cannot read", () => {
    expect(learnedInterval([at(0), at(5), at(10), at(15)])).toBe(300_000);
    // one late run does not move the median
    expect(learnedInterval([at(0), at(5), at(10), at(55), at(60)])).toBe(300_000);
    expect(learnedInterval([at(0), "not a time", at(4), at(8), at(12)])).toBe(240_000);
    // too few intervals, or times that do not go forward, teach nothing
    expect(learnedInterval([at(0), at(5), at(10)])).toBeUndefined();
    expect(learnedInterval([at(10), at(5), at(0), at(0)])).toBeUndefined();
  });

  it("takes the group's, else the default, else the learned one (at least a minute), else an hour", () => {
    const runs = [at(0), at(2), at(4), at(6)];
    expect(cadenceOf("ledger", learnedInterval(runs), { cadence: { defaultMs: 600_000, groups: { ledger: 60_000 } } })).toEqual({ ms: 60_000, source: "group" });
    expect(cadenceOf("web", learnedInterval(runs), { cadence: { defaultMs: 600_000, groups: {} } })).toEqual({ ms: 600_000, source: "default" });
    expect(cadenceOf("web", learnedInterval(runs), settings)).toEqual({ ms: 120_000, source: "learned" });
    const everyTenSeconds = [0, 10, 20, 30].map((s) => new Date(Date.UTC(2026, 11, 6, 8, 0, s)).toISOString());
    expect(cadenceOf(null, learnedInterval(everyTenSeconds), settings)).toEqual({ ms: MIN_LEARNED_MS, source: "learned" });
    expect(cadenceOf(null, learnedInterval([]), settings)).toEqual({ ms: FALLBACK_MS, source: "fallback" });
  });

  it("writes durations as hub.yaml does", () => {
    expect([showDuration(300_000), showDuration(5_400_000), showDuration(90_061_000), showDuration(0)]).toEqual(["5m", "1h30m", "1d1h1m1s", "0s"]);
  });
});

describe("hub serve and its monitor", () => {
  it("runs the monitor with the covenant.yaml hub.yaml names, and refuses to start with a bad one", async () => {
    const db = await freshDatabase();
    try {
      writeFileSync(join(dir, "good.yaml"), "version: 1\nstakeholders:\n  fleet_ops:\n    channels: [files]\nchannels:\n  files: { type: report, directory: " + dir + " }\nroute: { receivers: [fleet_ops] }\n", { mode: 0o600 });
      writeFileSync(join(dir, "bad.yaml"), "version: 1\nstakeholders: {}\nchanels: {}\n", { mode: 0o600 });
      const unknown = loadHubConfig(hubYaml("notify: good.yaml\ndeficiencies: { stakeholders: [nobody] }", db.url));
      await expect(startHub(unknown, () => undefined)).rejects.toThrow(/deficiencies names stakeholder nobody, which .*good\.yaml does not configure/);
      const bad = loadHubConfig(hubYaml("notify: bad.yaml", db.url));
      await expect(startHub(bad, () => undefined)).rejects.toThrow(/bad\.yaml has \d+ errors?:\n.*bad\.yaml:3:1: E302/);

      const log: string[] = [];
      const hub = await startHub(loadHubConfig(hubYaml("notify: good.yaml\ndeficiencies: { stakeholders: [fleet_ops] }", db.url)), (l) => log.push(l));
      try {
        expect(hub.applied).toContain(4);
        for (let i = 0; i < 100 && !hub.monitor?.leading; i++) await new Promise((r) => setTimeout(r, 50));
        expect(hub.monitor?.leading).toBe(true);
        expect(log).toContain("hub: this process is the fleet monitor now");
      } finally {
        await hub.close();
      }
    } finally {
      await db.drop();
    }
  });
});
