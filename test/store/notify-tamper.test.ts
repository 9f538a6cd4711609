// The deficiency and outbox tables under the store's tamper model: every row sealed, a forged
// row said and never used, a sealed row put back from an older copy or deleted found by verify
// against the history, and a schema with anything more (a trigger) refused before anything runs.
import type Database from "better-sqlite3";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { HistoryBrokenError, SCHEMA_VERSION, StateStore } from "../../src/store/store.ts";
import { raw, removeTempDirs, result, runBody, tempDir } from "./helpers.ts";
import { at, finding, group, message } from "./notify-helpers.ts";

beforeAll(() => ensureBuilt());
afterAll(() => removeTempDirs());

/** A store with an open deficiency, a resolved one, a planned message sent, a group state and routed events. */
function told(): { dir: string; open: string; resolved: string } {
  const dir = tempDir("notify-tamper");
  const store = StateStore.open(dir);
  let run = store.beginRun();
  for (const key of ["C-1/file:a", "C-1/file:b"]) store.recordResult(run, at(run), result(key, "drift", ["mode is 0644, promised 0640"]), finding());
  store.finishRun(runBody(run, 2));
  const ws = store.notificationWorkingSet();
  const m = message("m-1", ws.deficiencies);
  store.savePlan({ messages: [{ channel: "mail", message: m, dueAt: 1 }], groups: [group([m.id], {})], dropped: [], routedEvents: ws.events });
  store.recordDelivery(m.id, { at: at(run, 30), status: "sent" });
  run = store.beginRun();
  store.recordResult(run, at(run), result("C-1/file:b", "kept"), finding());
  store.finishRun(runBody(run, 2));
  const [open] = store.listDeficiencies();
  const [resolved] = store.listDeficiencies({ status: "resolved" });
  expect(store.verify().tampering).toBeUndefined();
  store.close();
  return { dir, open: open!.id, resolved: resolved!.id };
}

function edit(dir: string, fn: (db: Database.Database) => void): void {
  const db = raw(dir);
  try {
    fn(db);
  } finally {
    db.close();
  }
}

function verdict(dir: string) {
  const reader = StateStore.openReadOnly(dir);
  try {
    return reader.verify().tampering;
  } finally {
    reader.close();
  }
}

describe("a row changed outside Covenant", () => {
  it("a deficiency marked resolved by hand: verify names it, and the store passes it over and says so", () => {
    const t = told();
    edit(t.dir, (db) => db.prepare("UPDATE deficiencies SET status = 'resolved' WHERE id = ?").run(t.open));
    expect(verdict(t.dir)).toMatchObject({ kind: "altered", message: `the deficiency ${t.open} was changed outside Covenant: its seal does not match` });
    const store = StateStore.open(t.dir);
    expect(store.listDeficiencies({ status: "all" }).map((d) => d.id)).toEqual([t.resolved]);
    expect(store.untrusted).toEqual([`the deficiency ${t.open} was changed outside Covenant (its seal does not match): it is not used; \`covenant verify\` reports it`]);
    store.close();
    const v = covenant(["verify", "--state", t.dir]);
    expect(v.code).toBe(1);
    expect(v.out).toContain(`TAMPERED: the deficiency ${t.open} was changed outside Covenant`);
  });

  it("a run meeting a forged open deficiency passes it over, opens its own and notes why", () => {
    const t = told();
    edit(t.dir, (db) => db.prepare("UPDATE deficiencies SET body = replace(body, 'mode is 0644', 'all is well') WHERE id = ?").run(t.open));
    const store = StateStore.open(t.dir);
    const run = store.beginRun();
    const r = result("C-1/file:a", "error", ["cannot read it"]);
    store.recordResult(run, at(run), r, finding());
    expect(r.notes).toContain("a deficiency of this promise was changed outside Covenant (its seal did not match): it is passed over");
    const [mine] = store.listDeficiencies();
    expect(mine!.id).not.toBe(t.open);
    expect(mine!.outcome).toBe("error");
    store.close();
  });

  for (const [what, sql, message] of [
    ["an outbox event", "UPDATE outbox_events SET routed = 0 WHERE seq = 1", "the outbox event 1 was changed outside Covenant: its seal does not match"],
    ["a message", "UPDATE outbox_messages SET channel = 'sms' WHERE id = 'm-1'", "the outbox message m-1 was changed outside Covenant: its seal does not match"],
    ["a group state", "UPDATE notify_groups SET body = replace(body, 'm-1', 'm-2')", "the notification log of security/mail/alice@example.com for group control=ITGC-AC-01 (route root) was changed outside Covenant: its seal does not match"],
  ] as const) {
    it(`${what}: its seal does not match`, () => {
      const t = told();
      edit(t.dir, (db) => db.exec(sql));
      expect(verdict(t.dir)).toMatchObject({ kind: "altered", message });
    });
  }

  it("a forged message is never due, and a forged group is not planned from", () => {
    const t = told();
    const store = StateStore.open(t.dir);
    const ws = store.notificationWorkingSet();
    store.savePlan({ messages: [{ channel: "mail", message: message("m-2", ws.deficiencies), dueAt: 1 }], groups: [], dropped: [], routedEvents: [] });
    store.close();
    edit(t.dir, (db) => db.exec("UPDATE outbox_messages SET due_at = 0 WHERE id = 'm-2'; UPDATE notify_groups SET body = replace(body, 'alice', 'mallory')"));
    const again = StateStore.open(t.dir);
    expect(again.dueMessages(10)).toEqual([]);
    expect(again.notificationWorkingSet().groups).toEqual([]);
    expect(again.untrusted).toHaveLength(2);
    again.close();
  });
});

describe("sealed rows put back or deleted", () => {
  it("a resolved deficiency put back open from an older copy", () => {
    const dir = tempDir("notify-tamper");
    const store = StateStore.open(dir);
    let run = store.beginRun();
    store.recordResult(run, at(run), result("C-1/file:a", "drift", ["mode is 0644, promised 0640"]), finding());
    store.finishRun(runBody(run, 1));
    const copy = raw(dir).prepare("SELECT * FROM deficiencies").get() as Record<string, unknown>;
    run = store.beginRun();
    store.recordResult(run, at(run), result("C-1/file:a", "kept"), finding());
    store.finishRun(runBody(run, 1));
    store.close();
    edit(dir, (db) => db.prepare("INSERT OR REPLACE INTO deficiencies VALUES (@id, @key, @status, @notice, @body, @opened_run, @updated_at, @seal)").run(copy));
    expect(verdict(dir)).toMatchObject({ kind: "altered", message: `the deficiency ${String(copy["id"])} is open, but the last record of C-1/file:a (3) says kept: it was put back from an older copy` });
  });

  it("an open deficiency deleted", () => {
    const t = told();
    edit(t.dir, (db) => db.prepare("DELETE FROM deficiencies WHERE id = ?").run(t.open));
    expect(verdict(t.dir)).toMatchObject({ kind: "deleted", message: expect.stringMatching(/^C-1\/file:a is drift \(record \d+\) but has no open deficiency: it was deleted or set back$/) });
  });

  it("an event deleted", () => {
    const t = told();
    edit(t.dir, (db) => db.prepare("DELETE FROM outbox_events WHERE deficiency = ? AND event = 'resolved'").run(t.resolved));
    expect(verdict(t.dir)).toMatchObject({ kind: "deleted", message: `the outbox event saying the deficiency ${t.resolved} was resolved is missing: it was deleted` });
  });

  it("a sent message deleted", () => {
    const t = told();
    edit(t.dir, (db) => db.prepare("DELETE FROM outbox_messages").run());
    expect(verdict(t.dir)).toMatchObject({ kind: "deleted", message: expect.stringMatching(/^the outbox message m-1, delivered in record \d+, is not in the store: it was deleted$/) });
  });

  it("a message put back from before its delivery (to be sent again)", () => {
    const dir = tempDir("notify-tamper");
    const store = StateStore.open(dir);
    const run = store.beginRun();
    store.recordResult(run, at(run), result("C-1/file:a", "drift", ["mode is 0644, promised 0640"]), finding());
    store.finishRun(runBody(run, 1));
    const ws = store.notificationWorkingSet();
    store.savePlan({ messages: [{ channel: "mail", message: message("m-1", ws.deficiencies), dueAt: 1 }], groups: [], dropped: [], routedEvents: ws.events });
    const planned = raw(dir).prepare("SELECT * FROM outbox_messages").get() as Record<string, unknown>;
    store.recordDelivery("m-1", { at: at(run, 40), status: "sent" });
    store.close();
    edit(dir, (db) => db.prepare("INSERT OR REPLACE INTO outbox_messages VALUES (@id, @channel, @status, @attempts, @due_at, @body, @last_error, @created_at, @sent_at, @seal)").run(planned));
    expect(verdict(dir)).toMatchObject({ kind: "altered", message: expect.stringMatching(/^the outbox message m-1 is pending, but its delivery record \(\d+\) says sent: it was put back from an older copy$/) });
  });
});

describe("the schema of the notify tables", () => {
  for (const [what, sql, words] of [
    ["a trigger on the outbox events", "CREATE TRIGGER quiet BEFORE INSERT ON outbox_events BEGIN SELECT RAISE(IGNORE); END", "it holds a trigger `quiet` on `outbox_events` that Covenant never makes (SQL that would run as a run writes)"],
    ["a trigger on the deficiencies", "CREATE TRIGGER keep_open BEFORE UPDATE ON deficiencies BEGIN SELECT RAISE(IGNORE); END", "it holds a trigger `keep_open` on `deficiencies` that Covenant never makes"],
    ["an index of its own", "CREATE UNIQUE INDEX one ON outbox_messages(channel)", "it holds an index `one` on `outbox_messages` that Covenant never makes"],
    ["a table dropped", "DROP TABLE notify_groups", "its table `notify_groups` is missing"],
    ["an index dropped", "DROP INDEX deficiencies_status", "its index `deficiencies_status` is missing"],
    ["every notify table dropped, the store still saying schema 5", "DROP TABLE deficiencies; DROP TABLE outbox_events; DROP TABLE outbox_messages; DROP TABLE notify_groups", "its table `deficiencies`, table `outbox_events`, table `outbox_messages`, table `notify_groups`, index `deficiencies_status`, index `outbox_events_routed`, index `outbox_messages_due`, index `outbox_unrouted` are missing"],
  ] as const) {
    it(`${what} is refused by run and reported by verify`, () => {
      const t = told();
      edit(t.dir, (db) => db.exec(sql));
      expect(() => StateStore.open(t.dir)).toThrow(HistoryBrokenError);
      expect(() => StateStore.open(t.dir)).toThrow(words);
      const v = covenant(["verify", "--state", t.dir]);
      expect(v.code).toBe(1);
      expect(v.out).toContain(`TAMPERED: the store ${join(t.dir, "state.db")} was tampered with: ${words}`);
    });
  }

  it("the notify tables dropped and the schema set back to 4: the anchors say the current schema", () => {
    const t = told();
    edit(t.dir, (db) => db.exec("DROP TABLE deficiencies; DROP TABLE outbox_events; DROP TABLE outbox_messages; DROP TABLE notify_groups; UPDATE meta SET value = '4' WHERE key = 'schema'"));
    expect(verdict(t.dir)).toMatchObject({ kind: "altered", message: `the store says schema 4, but its sealed head anchor was written with schema ${SCHEMA_VERSION}: its tables were set back to escape their seals` });
    expect(() => StateStore.open(t.dir)).toThrow(/has lost its deficiency and outbox tables, which its sealed head anchor says it had/);
  });
});
