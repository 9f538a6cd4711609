// The outbox: an event is written in the transaction of the change that made it (never one
// without the other, whatever fails or is killed), a plan is saved whole and saved again without
// harm, due messages come oldest first, and a delivery is evidence in the history.
import Database from "better-sqlite3";
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, covenant, ensureBuilt } from "../helpers/cli.ts";
import { StateStore, StoreError, type DeliveryBody } from "../../src/store/store.ts";
import { raw, removeTempDirs, result, runBody, tempDir } from "./helpers.ts";
import { at, finding, group, message } from "./notify-helpers.ts";

beforeAll(() => ensureBuilt());
afterAll(() => removeTempDirs());

const count = (db: Database.Database, sql: string): number => db.prepare(sql).pluck().get() as number;

describe("an event is written with its change, or neither is", () => {
  for (const [what, table] of [
    ["the change record cannot be written", "ledger"],
    ["the event cannot be written", "outbox_events"],
    ["the deficiency cannot be written", "deficiencies"],
  ] as const) {
    it(`${what}: no change record, no current state, no deficiency and no event`, () => {
      const dir = tempDir("outbox");
      const store = StateStore.open(dir);
      const run = store.beginRun();
      store.recordResult(run, at(run), result("C-1/file:a", "kept"), finding());
      // planted after the store was opened (schemaProblem refuses it at the next open): the write fails part way
      const db = raw(dir);
      db.exec(`CREATE TRIGGER fail BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'the disk failed'); END`);
      const before = { ledger: count(db, "SELECT count(*) FROM ledger"), events: count(db, "SELECT count(*) FROM outbox_events") };
      expect(() => store.recordResult(run, at(run, 1), result("C-1/file:a", "drift", ["mode is 0644, promised 0640"]), finding())).toThrow();
      expect(count(db, "SELECT count(*) FROM ledger")).toBe(before.ledger);
      expect(count(db, "SELECT count(*) FROM outbox_events")).toBe(before.events);
      expect(count(db, "SELECT count(*) FROM deficiencies")).toBe(0);
      expect(db.prepare("SELECT outcome FROM current WHERE key = 'C-1/file:a'").pluck().get()).toBe("kept");
      db.exec("DROP TRIGGER fail");
      db.close();
      // and the next attempt records all of it
      expect(store.recordResult(run, at(run, 2), result("C-1/file:a", "drift", ["mode is 0644, promised 0640"]), finding())).toBe(true);
      expect(store.notificationWorkingSet().events).toHaveLength(1);
      store.finishRun(runBody(run, 1));
      expect(store.verify().tampering).toBeUndefined();
      store.close();
    });
  }

  it("a run killed (SIGKILL) part way through 300 repairs: every change record it left has its notice and event, and nothing else", async () => {
    const dir = tempDir("outbox-kill");
    mkdirSync(join(dir, "ledger"));
    const files = Array.from({ length: 300 }, (_, i) => join(dir, "ledger", `gl-${i}.dat`));
    for (const f of files) writeFileSync(f, `entry ${f}\n`);
    const policy = join(dir, "ledger.promise");
    writeFileSync(policy, `control "ITGC-CM-02" {\n  title = "Ledger files"\n${files.map((f) => `  file "${f}" { mode = 0640 repair = perms }`).join("\n")}\n}\n`);
    const state = join(dir, "state");
    for (const f of files) chmodSync(f, 0o640);
    expect(covenant(["run", "--quiet", "--state", state, policy]).code).toBe(0);
    for (const f of files) chmodSync(f, 0o666);
    const child = spawn(bin, ["run", "--quiet", "--state", state, policy], { stdio: "ignore" });
    const reader = new Database(join(state, "state.db"), { readonly: true });
    // kill it once it has recorded some of its repairs
    for (let i = 0; i < 2000 && count(reader, "SELECT count(*) FROM ledger WHERE run = 2") < 20; i++) await new Promise((r) => setTimeout(r, 5));
    child.kill("SIGKILL");
    await new Promise((r) => child.on("close", r));
    const changes = count(reader, "SELECT count(*) FROM ledger WHERE run = 2 AND kind = 'change'");
    expect(changes).toBeGreaterThanOrEqual(20);
    expect(count(reader, "SELECT count(*) FROM deficiencies WHERE opened_run = 2 AND notice = 1")).toBe(changes);
    expect(count(reader, "SELECT count(*) FROM outbox_events WHERE run = 2 AND event = 'notice'")).toBe(changes);
    expect(count(reader, "SELECT count(*) FROM outbox_events")).toBe(changes);
    reader.close();
    const v = covenant(["verify", "--state", state]);
    expect(v.code, v.out).toBe(0);
    expect(v.out).toContain("stopped before writing a summary");
  });
});

/** A store with two open deficiencies of one control, ready to plan for. */
function withDeficiencies() {
  const dir = tempDir("outbox");
  const store = StateStore.open(dir);
  const run = store.beginRun();
  for (const key of ["ITGC-AC-01/file:a", "ITGC-AC-01/file:b"]) store.recordResult(run, at(run), result(key, "drift", ["mode is 0644, promised 0640"]), finding());
  store.finishRun(runBody(run, 2));
  return { dir, store, ws: store.notificationWorkingSet() };
}

describe("plans", () => {
  it("are saved whole: messages, group states and routed events; saved again after a crash, a message already there is kept as it is", () => {
    const { store, ws } = withDeficiencies();
    expect(ws.deficiencies).toHaveLength(2);
    expect(ws.events).toHaveLength(2);
    const m = message("m-0000000000000001", ws.deficiencies);
    const g = group([m.id], Object.fromEntries(ws.deficiencies.map((d) => [d.id, `open:drift::${d.lastRecord}`])));
    store.savePlan({ messages: [{ channel: "mail", message: m, dueAt: 5_000 }], groups: [g], dropped: [], routedEvents: ws.events });
    store.savePlan({ messages: [{ channel: "mail", message: { ...m, kind: "reminder" }, dueAt: 9_000 }], groups: [g], dropped: [], routedEvents: ws.events });
    const outbox = store.listOutbox();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ id: m.id, channel: "mail", status: "pending", attempts: 0, dueAt: 5_000, createdAt: m.createdAt });
    expect(outbox[0]!.message).toEqual(m);
    const after = store.notificationWorkingSet();
    expect(after.events).toEqual([]);
    expect(after.groups).toEqual([g]);
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("the working set keeps a resolved deficiency while a group remembers telling it, and lets it go when the group is dropped", () => {
    const { store, ws } = withDeficiencies();
    const [a] = ws.deficiencies;
    const g = group([], { [a!.id]: "open:drift::1" });
    store.savePlan({ messages: [], groups: [g], dropped: [], routedEvents: ws.events });
    const run = store.beginRun();
    store.recordResult(run, at(run), result(a!.key, "kept"), finding());
    store.finishRun(runBody(run, 2));
    const resolved = store.notificationWorkingSet();
    expect(resolved.deficiencies.find((d) => d.id === a!.id)).toMatchObject({ status: "resolved" });
    expect(resolved.events).toHaveLength(1);
    store.savePlan({ messages: [], groups: [{ ...g, told: { [a!.id]: "resolved:drift::9" } }], dropped: [], routedEvents: resolved.events });
    expect(store.notificationWorkingSet().deficiencies.map((d) => d.id)).toContain(a!.id);
    store.savePlan({ messages: [], groups: [], dropped: [g], routedEvents: [] });
    const gone = store.notificationWorkingSet();
    expect(gone.deficiencies.map((d) => d.id)).not.toContain(a!.id);
    expect(gone.deficiencies).toHaveLength(1);
    expect(gone.groups).toEqual([]);
    store.close();
  });
});

describe("due messages and deliveries", () => {
  it("due messages come by due time, up to the limit, and a retry moves a message to its next time", () => {
    const { store, ws } = withDeficiencies();
    const planned = [
      ["m-c", 300],
      ["m-a", 100],
      ["m-future", 900],
      ["m-b", 200],
    ] as const;
    store.savePlan({ messages: planned.map(([id, dueAt]) => ({ channel: "mail", message: message(id, ws.deficiencies), dueAt })), groups: [], dropped: [], routedEvents: [] });
    expect(store.dueMessages(500).map((m) => m.id)).toEqual(["m-a", "m-b", "m-c"]);
    expect(store.dueMessages(500, 2).map((m) => m.id)).toEqual(["m-a", "m-b"]);
    // those a round already tried are left out, and the limit counts only the others
    expect(store.dueMessages(500, 1, new Set(["m-a"])).map((m) => m.id)).toEqual(["m-b"]);
    expect(store.countDue(500)).toBe(3);
    expect(store.countDue(500, new Set(["m-a", "m-c", "m-future"]))).toBe(1);
    // per channel: every planned message here is the mail channel's
    expect(store.dueChannels(500)).toEqual(["mail"]);
    expect(store.dueChannels(50)).toEqual([]);
    expect(store.dueMessages(500, 10, undefined, "mail").map((m) => m.id)).toEqual(["m-a", "m-b", "m-c"]);
    expect(store.dueMessages(500, 10, undefined, "sms")).toEqual([]);
    expect(store.countDue(500, undefined, "sms")).toBe(0);
    store.recordDelivery("m-a", { at: "2026-11-23T12:00:00.000Z", status: "retrying", error: "connection refused\n(ECONNREFUSED)", nextAt: 1_000 });
    expect(store.dueMessages(500).map((m) => m.id)).toEqual(["m-b", "m-c"]);
    expect(store.dueMessages(1_000).map((m) => m.id)).toEqual(["m-b", "m-c", "m-future", "m-a"]);
    expect(store.listOutbox({ status: ["retrying"] })).toMatchObject([{ id: "m-a", attempts: 1, dueAt: 1_000, lastError: "connection refused (ECONNREFUSED)" }]);
    // a retry is no evidence of anyone told: no record
    expect(store.history({ kinds: ["delivery"] })).toEqual([]);
    store.close();
  });

  it("a delivery record names the recipient routing gave the message (an SMS to a phone, not to the person's email), group state or not", () => {
    const { store, ws } = withDeficiencies();
    const person = { name: "Olga Ops", email: "olga@example.com", phone: "+15551230002" };
    const sms = message("m-sms", ws.deficiencies, { stakeholder: { name: "ops", people: [person], channels: ["sms"] }, person, recipient: "ops/sms/+15551230002" });
    store.savePlan({ messages: [{ channel: "sms", message: sms, dueAt: 1 }], groups: [], dropped: [], routedEvents: [] });
    store.recordDelivery(sms.id, { at: "2026-11-23T12:00:05.000Z", status: "sent" });
    expect(store.history({ kinds: ["delivery"] }).map((r) => (r.body as DeliveryBody).recipient)).toEqual(["ops/sms/+15551230002"]);
    store.close();
  });

  it("sent and given up are delivery records: who was told, when, through which channel, about which deficiencies", () => {
    const { dir, store, ws } = withDeficiencies();
    const told = message("m-told", ws.deficiencies);
    const failed = message("m-failed", ws.deficiencies, { stakeholder: { name: "siem", people: [], channels: ["hook"] }, person: undefined as never });
    delete (failed as { person?: unknown }).person;
    const g = group([told.id], {});
    store.savePlan({ messages: [{ channel: "mail", message: told, dueAt: 1 }, { channel: "hook", message: failed, dueAt: 1 }], groups: [g], dropped: [], routedEvents: [] });
    store.recordDelivery(told.id, { at: "2026-11-23T12:00:05.000Z", status: "sent", providerId: "250 2.0.0 Ok: queued as 4F2A" });
    store.recordDelivery(failed.id, { at: "2026-11-23T12:00:06.000Z", status: "retrying", error: "503 Service Unavailable", nextAt: 2 });
    store.recordDelivery(failed.id, { at: "2026-11-23T12:10:06.000Z", status: "given-up", error: "404 Not Found: not worth another try" });
    const records = store.history({ kinds: ["delivery"] });
    expect(records.map((e) => [e.time, e.verified])).toEqual([
      ["2026-11-23T12:00:05.000Z", true],
      ["2026-11-23T12:10:06.000Z", true],
    ]);
    expect(records[0]!.body as DeliveryBody).toEqual({
      message: "m-told",
      channel: "mail",
      recipient: "security/mail/alice@example.com",
      kind: "opened",
      route: "root",
      groupKey: "control=ITGC-AC-01",
      deficiencies: ws.deficiencies.map((d) => d.id),
      status: "sent",
      attempts: 1,
      providerId: "250 2.0.0 Ok: queued as 4F2A",
    });
    expect(records[1]!.body).toMatchObject({ message: "m-failed", channel: "hook", recipient: "siem/hook", status: "given-up", attempts: 2, error: "404 Not Found: not worth another try" });
    expect(store.listOutbox({ status: ["sent"] })).toMatchObject([{ id: "m-told", sentAt: "2026-11-23T12:00:05.000Z", attempts: 1 }]);
    expect(store.dueMessages(10)).toEqual([]);
    expect(() => store.recordDelivery(told.id, { at: "2026-11-23T12:20:00.000Z", status: "sent" })).toThrow(StoreError);
    expect(() => store.recordDelivery("m-nothing", { at: "2026-11-23T12:20:00.000Z", status: "sent" })).toThrow(/no message m-nothing in the outbox/);
    store.close();

    const v = covenant(["verify", "--state", dir]);
    expect(v.code, v.out).toBe(0);
    const h = covenant(["history", "--state", dir]);
    expect(h.code).toBe(0);
    expect(h.out).toContain(`#${records[0]!.seq}  told security/mail/alice@example.com via mail: opened message m-told about ${ws.deficiencies.map((d) => d.id).join(", ")} (250 2.0.0 Ok: queued as 4F2A)`);
    expect(h.out).toContain(`#${records[1]!.seq}  gave up telling siem/hook via hook after 2 attempts: opened message m-failed about`);
    expect(h.out).toContain(": 404 Not Found: not worth another try");
    // the head anchor beside the store names the last delivery: cutting it off is found
    const head = JSON.parse(readFileSync(join(dir, "ledger.head"), "utf8")) as { seq: number };
    expect(head.seq).toBe(records[1]!.seq);
  });
});
