// The fleet monitor end to end: hosts push to a real hub over HTTPS, the monitor judges the fleet
// in a real PostgreSQL database, and what it finds reaches a real SMTP server through the
// covenant.yaml hub.yaml names. Time is the scene's clock, moved by the test; rounds are driven
// by hand.
import { afterEach, describe, expect, it } from "vitest";
import type { ParsedMail } from "mailparser";
import { resolveIncident } from "../../src/hub/admin.js";
import { learnedInterval } from "../../src/hub/monitor/cadence.js";
import { minute, monitorScene, type MonitorScene } from "./helpers/monitor-scene.js";

let scene: MonitorScene | undefined;
// closing stops the monitors, the hub, the SMTP server and drops the database: on a loaded machine, more than the default 10 s
afterEach(async () => {
  await scene?.close();
  scene = undefined;
}, 60_000);

const kind = (m: ParsedMail) => String(m.headers.get("x-covenant-kind"));
const text = (m: ParsedMail) => `${m.subject ?? ""}\n${m.text ?? ""}`;

async function deficiencies(s: MonitorScene): Promise<{ id: string; key: string; status: string; host: string; control: string; reason: string }[]> {
  return (await s.hub.pool.query("SELECT id, key, status, body->>'host' AS host, body->'control'->>'id' AS control, body->>'reason' AS reason FROM hub_fleet_deficiencies ORDER BY opened_at, id")).rows;
}

describe("the fleet monitor", () => {
  it("tells of a host that stops pushing, naming it, and that it is resolved when it pushes again", async () => {
    const s = (scene = await monitorScene());
    const web = await s.host("web-07");
    await web.runAndPush();
    const monitor = s.monitor();
    s.clock.now += 14 * minute; // within 5m × 3
    expect((await monitor.round())?.moves.opened).toEqual([]);
    expect(s.smtp.messages).toHaveLength(0);

    s.clock.now += 2 * minute;
    const round = await monitor.round();
    expect(round?.moves.opened).toHaveLength(1);
    let mails = await s.mails();
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toMatchObject({ text: expect.stringContaining("fleet-ops@example.com") });
    expect(text(mails[0]!)).toContain("web-07");
    expect(text(mails[0]!)).toContain("COVENANT-HUB-SILENT");
    expect(text(mails[0]!)).toMatch(/has not pushed since/);
    // no host's run or history record, and no `covenant ack` on a host: it was found by the hub
    expect(text(mails[0]!)).toContain("(found by the fleet hub)");
    expect(text(mails[0]!)).not.toMatch(/covenant ack|History record|\(run 0\)/);
    // the next round tells nothing new: the group was told
    s.clock.now += minute;
    await monitor.round();
    expect(s.smtp.messages).toHaveLength(1);

    await web.runAndPush();
    const back = await monitor.round();
    expect(back?.moves.resolved).toHaveLength(1);
    mails = await s.mails();
    expect(mails.map(kind)).toEqual(["opened", "resolved"]);
    expect(text(mails[1]!)).toContain("web-07");
    expect(mails[1]!.headers.get("x-covenant-deficiency")).toBe(mails[0]!.headers.get("x-covenant-deficiency"));
    const rows = await deficiencies(s);
    expect(rows).toMatchObject([{ status: "resolved", host: "web-07", control: "COVENANT-HUB-SILENT" }]);
    // who was told is in the hub's audit log
    const told = (await s.hub.pool.query("SELECT detail FROM hub_audit WHERE action = 'notify.delivery' ORDER BY id")).rows.map((r) => r.detail);
    expect(told).toMatchObject([{ status: "sent", kind: "opened", channel: "mail" }, { status: "sent", kind: "resolved" }]);
  });

  it("holds a host with no configured cadence to the one learned from its runs, keeping the last eleven finish times", async () => {
    const s = (scene = await monitorScene({ hubYaml: "deficiencies: { stakeholders: [fleet_ops] }" }));
    const batch = await s.host("batch-01");
    for (let i = 0; i < 13; i++) {
      if (i) s.clock.now += 2 * minute;
      await batch.runAndPush();
    }
    const kept = (await s.hub.pool.query<{ recent_runs: string[] }>("SELECT recent_runs FROM hub_hosts")).rows[0]!.recent_runs;
    expect(kept).toHaveLength(11);
    expect(kept.at(-1)).toBe(new Date(s.clock.now).toISOString());
    // the database learns what learnedInterval says
    const learned = (await s.hub.pool.query<{ ms: string }>("SELECT learned_every_ms AS ms FROM hub_hosts")).rows[0]!.ms;
    expect(Number(learned)).toBe(learnedInterval(kept));
    const monitor = s.monitor();
    s.clock.now += 6 * minute; // 2m × 3: not yet
    expect((await monitor.round())?.moves.opened).toEqual([]);
    s.clock.now += 10_000;
    expect((await monitor.round())?.moves.opened).toHaveLength(1);
    const [d] = await deficiencies(s);
    expect(d!.reason).toContain("expected every 2m, learned from its last 11 runs; silent after 6m");
  });

  it("holds a host that never pushed, with no cadence configured, to an hour, from its enrolment", async () => {
    const s = (scene = await monitorScene({ hubYaml: "deficiencies: { stakeholders: [fleet_ops] }" }));
    await s.host("new-01");
    const monitor = s.monitor();
    s.clock.now += 3 * 60 * minute - minute; // 1h × 3, not yet
    expect((await monitor.round())?.moves.opened).toEqual([]);
    s.clock.now += 2 * minute;
    expect((await monitor.round())?.moves.opened).toHaveLength(1);
    const [d] = await deficiencies(s);
    expect(d!.reason).toMatch(/new-01 has not pushed since it enrolled at .* \(expected every 1h, until its runs teach one; silent after 3h\)/);
  });

  it("holds a host of a group hub.yaml gives a cadence to that cadence, the others to the default", async () => {
    const s = (scene = await monitorScene({ hubYaml: "cadence: { default: 5m, groups: { ledger: 1m } }\ndeficiencies: { stakeholders: [fleet_ops] }" }));
    const ledger = await s.host("gl-db-01", "ledger");
    const web = await s.host("web-01", "web");
    await ledger.runAndPush();
    await web.runAndPush();
    const monitor = s.monitor();
    s.clock.now += 3 * minute + 1000;
    expect((await monitor.round())?.moves.opened).toHaveLength(1);
    const [d] = await deficiencies(s);
    expect(d).toMatchObject({ host: "gl-db-01", status: "open" });
    expect(d!.reason).toContain("expected every 1m, group ledger's; silent after 3m");
  });

  it("routes a fork as a deficiency of the host's chain, resolved when an administrator resolves the incident", async () => {
    const s = (scene = await monitorScene());
    const db = await s.host("db-02");
    await db.runAndPush([{ control: "SOX-AC-01", from: null, to: "kept" }]);
    // the host sends another record 2 than the one it sent before: its history forks
    const forked = [...db.host.lines];
    forked[1] = forked[1]!.replace('"changed":1', '"changed":7');
    const original = db.host.lines;
    db.host.lines = forked;
    const refused = await db.host.push(s.hub.url, s.cert.certPem, 0, 2, { sentAt: new Date(s.clock.now) });
    db.host.lines = original;
    expect(refused.status).toBe(409);
    const monitor = s.monitor();
    const round = await monitor.round();
    expect(round?.moves.opened).toHaveLength(1);
    const mails = await s.mails();
    expect(mails).toHaveLength(1);
    expect(text(mails[0]!)).toContain("COVENANT-HUB-CHAIN");
    expect(text(mails[0]!)).toContain("db-02");
    expect(text(mails[0]!)).toMatch(/fork/);
    // seen again, the same incident is the same deficiency
    s.clock.now += minute;
    expect((await monitor.round())?.moves).toEqual({ opened: [], updated: [], resolved: [] });

    const incident = (await s.hub.pool.query<{ id: string }>("SELECT id FROM hub_incidents WHERE kind = 'fork'")).rows[0]!;
    expect(await resolveIncident(s.hub.pool, Number(incident.id), "restored from backup, checked", "test")).toMatchObject({ id: Number(incident.id) });
    expect((await monitor.round())?.moves.resolved).toHaveLength(1);
    expect((await s.mails()).map(kind)).toEqual(["opened", "resolved"]);
  });

  it("finds six hosts drifting on one control within the window as one deficiency naming them, and not two hosts on another", async () => {
    const s = (scene = await monitorScene());
    const hosts = [];
    for (let i = 1; i <= 7; i++) hosts.push(await s.host(`app-${String(i).padStart(2, "0")}`));
    for (const h of hosts) await h.runAndPush([{ control: "SOX-CM-04", from: null, to: "kept" }, { control: "SOX-AC-09", from: null, to: "kept" }]);
    const monitor = s.monitor();
    s.clock.now += 20 * minute; // the first runs' changes (to kept) are out of the window
    for (const h of hosts) await h.runAndPush();
    expect((await monitor.round())?.moves.opened).toEqual([]);

    for (const [i, h] of hosts.slice(0, 6).entries()) {
      s.clock.now += 2 * minute; // six hosts within 12 minutes
      await h.runAndPush([{ control: "SOX-CM-04", from: "kept", to: i === 5 ? "failed" : "drift" }, ...(i < 2 ? [{ control: "SOX-AC-09", from: "kept", to: "drift" }] : [])]);
    }
    await hosts[6]!.runAndPush();
    const round = await monitor.round();
    expect(round?.moves.opened).toHaveLength(1);
    const rows = await deficiencies(s);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ host: "fleet", control: "SOX-CM-04", status: "open" });
    expect(rows[0]!.reason).toContain("on 6 hosts within 15m");
    for (let i = 1; i <= 6; i++) expect(rows[0]!.reason).toContain(`app-0${i}`);
    expect(rows[0]!.reason).not.toContain("app-07");
    const mails = await s.mails();
    expect(mails).toHaveLength(1);
    expect(text(mails[0]!)).toContain("SOX-CM-04");
    expect(text(mails[0]!)).toContain("app-06");

    // the same wave is not told again while it lasts; it is over when its hosts are kept again
    s.clock.now += 4 * minute;
    expect((await monitor.round())?.moves).toEqual({ opened: [], updated: [], resolved: [] });
    for (const h of hosts.slice(0, 5)) await h.runAndPush([{ control: "SOX-CM-04", from: "drift", to: "kept" }]);
    expect((await monitor.round())?.moves.resolved).toHaveLength(1);
    expect((await s.mails()).map(kind)).toEqual(["opened", "resolved"]);
  });

  it("keeps a message the SMTP server could not take and sends it once the server is back, nothing lost", async () => {
    const s = (scene = await monitorScene());
    const web = await s.host("web-11");
    await web.runAndPush();
    await s.smtp.stop();
    const monitor = s.monitor();
    s.clock.now += 16 * minute;
    const round = await monitor.round();
    expect(round?.dispatch?.deliveries).toMatchObject([{ status: "retrying" }]);
    const waiting = (await s.hub.pool.query("SELECT status, attempts, last_error FROM hub_notify_messages")).rows;
    expect(waiting).toMatchObject([{ status: "retrying", attempts: 1 }]);
    expect(String(waiting[0]!.last_error)).not.toContain(s.smtp.password);

    await s.smtp.start();
    s.clock.now += 10_000; // before the backoff (1m) is over: not tried again
    expect((await monitor.round())?.dispatch?.deliveries).toEqual([]);
    s.clock.now += minute;
    expect((await monitor.round())?.dispatch?.deliveries).toMatchObject([{ status: "sent", attempts: 2 }]);
    const mails = await s.mails();
    expect(mails).toHaveLength(1);
    expect(text(mails[0]!)).toContain("web-11");
  });

  it("opens a deficiency of its own for a channel that keeps failing, and resolves it when the channel delivers again", async () => {
    const route = `route:
  receivers: [owners]
  group_by: [control, host]
  group_wait: 0s
  group_interval: 30s
  repeat_interval: 4h
delivery: { budget: 10s, max_attempts: 5, backoff: 1m, max_backoff: 10m, failing_after: 1 }`;
    const s = (scene = await monitorScene({ route }));
    const web = await s.host("web-12");
    await web.runAndPush();
    await s.smtp.stop();
    const monitor = s.monitor();
    s.clock.now += 16 * minute;
    expect((await monitor.round())?.dispatch?.failingChannels).toMatchObject([{ channel: "mail" }]);
    const system = async () => (await s.hub.pool.query("SELECT status, body->'control'->>'id' AS control, body->>'host' AS host FROM hub_fleet_deficiencies WHERE key = 'covenant.notify/channel:mail'")).rows;
    expect(await system()).toEqual([{ status: "open", control: "covenant.notify", host: "fleet" }]);
    await s.smtp.start();
    s.clock.now += 2 * minute;
    await monitor.round();
    expect(await system()).toEqual([{ status: "resolved", control: "covenant.notify", host: "fleet" }]);
    // the silent host's message arrived, once
    expect((await s.mails()).filter((m) => text(m).includes("web-12"))).toHaveLength(1);
  });

  it("goes on after its database connection is cut, on a new one", async () => {
    const s = (scene = await monitorScene());
    const web = await s.host("web-13");
    await web.runAndPush();
    const monitor = s.monitor();
    expect(await monitor.round()).toBeDefined();
    const cut = await s.hub.pool.query("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'covenant-hub-monitor' AND datname = current_database()");
    expect(cut.rows).toEqual([{ ok: true }]);
    s.clock.now += 16 * minute;
    const round = await monitor.round();
    expect(round?.moves.opened).toHaveLength(1);
    expect(s.log.some((l) => l.includes("no longer the fleet monitor"))).toBe(true);
    expect((await s.mails()).map((m) => text(m).includes("web-13"))).toEqual([true]);
  });

  it("runs one monitor among several against one database, messages sent once; another takes over when it stops", async () => {
    const s = (scene = await monitorScene());
    const hosts = [await s.host("api-01"), await s.host("api-02")];
    for (const h of hosts) await h.runAndPush();
    const [a, b] = [s.monitor(), s.monitor()];
    s.clock.now += 16 * minute;
    const rounds = await Promise.all([a.round(), b.round(), a.round(), b.round()]);
    expect(rounds.filter((r) => r !== undefined).length).toBeGreaterThan(0);
    expect([a.leading, b.leading].filter(Boolean)).toHaveLength(1);
    const [leader, other] = a.leading ? [a, b] : [b, a];
    expect(await other.round()).toBeUndefined();
    const mails = await s.mails();
    // group_by control and host: one message per silent host, each once
    expect(mails.map((m) => text(m).match(/api-0\d/)?.[0]).sort()).toEqual(["api-01", "api-02"]);

    await leader.stop();
    s.clock.now += minute; // past group_interval: the resolved notice may go
    await hosts[0]!.runAndPush();
    const taken = await other.round();
    expect(taken?.moves.resolved).toHaveLength(1);
    expect(other.leading).toBe(true);
    expect((await s.mails()).map(kind).sort()).toEqual(["opened", "opened", "resolved"]);
    expect(s.log.some((l) => l.includes("is the fleet monitor now"))).toBe(true);
  });
});
