// Acknowledging a deficiency: an "ack" record in the history (who, as which user and login uid,
// when, why), the acknowledgement on the deficiency and its outbox event, in one transaction;
// refused for a deficiency that is not open, with words that say why, and nothing written.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { DeficiencyError, StateStore, type AckBody } from "../../src/store/store.ts";
import { raw, removeTempDirs, result, runBody, tempDir } from "./helpers.ts";
import { at, finding } from "./notify-helpers.ts";

beforeAll(() => ensureBuilt());
afterAll(() => removeTempDirs());

const ACK = { at: "2026-11-23T11:00:00.000Z", reason: "change ticket CHG-4711 restores it tonight", by: "Alice Admin", user: "root", loginUid: 1000 };

function withOpen(): { dir: string; store: StateStore; id: string } {
  const dir = tempDir("ack");
  const store = StateStore.open(dir);
  const run = store.beginRun();
  store.recordResult(run, at(run), result("ITGC-AC-01/file:a", "drift", ["mode is 0644, promised 0640"]), finding());
  store.recordResult(run, at(run), result("ITGC-AC-01/file:b", "kept"), finding());
  store.finishRun(runBody(run, 2));
  return { dir, store, id: store.listDeficiencies()[0]!.id };
}

describe("acknowledge", () => {
  it("writes the ack record, puts the acknowledgement on the deficiency with its record number, and an event; verify and history show it", () => {
    const { dir, store, id } = withOpen();
    const acked = store.acknowledge(id.slice(0, 7), ACK);
    const [record] = store.history({ kinds: ["ack"] });
    expect(record).toMatchObject({ kind: "ack", run: 0, time: ACK.at, verified: true });
    expect(record!.body as AckBody).toEqual({ deficiency: id, key: "ITGC-AC-01/file:a", control: "ITGC-AC-01", at: ACK.at, reason: ACK.reason, by: "Alice Admin", user: "root", loginUid: 1000 });
    expect(acked).toMatchObject({ id, status: "open", ack: { ...ACK, record: record!.seq } });
    expect(store.findDeficiency(id)).toEqual(acked);
    const ws = store.notificationWorkingSet();
    expect(ws.events).toHaveLength(2);
    expect(raw(dir).prepare("SELECT event FROM outbox_events ORDER BY seq DESC LIMIT 1").pluck().get()).toBe("acknowledged");
    expect(store.verify().tampering).toBeUndefined();
    // the head anchor beside the store names it: the ack cut off the end is found
    expect(JSON.parse(readFileSync(join(dir, "ledger.head"), "utf8"))).toMatchObject({ seq: record!.seq });
    store.close();

    expect(covenant(["verify", "--state", dir]).code).toBe(0);
    const h = covenant(["history", "--state", dir, "--control", "ITGC-AC-01"]);
    expect(h.code, h.err).toBe(0);
    expect(h.out).toContain(`2026-11-23 11:00:00Z  #${record!.seq}  acknowledged ${id} (ITGC-AC-01/file:a) by Alice Admin as root (login uid 1000): change ticket CHG-4711 restores it tonight`);
    const json = JSON.parse(covenant(["history", "--json", "--state", dir]).out) as { kind: string; body: unknown }[];
    expect(json.find((e) => e.kind === "ack")!.body).toMatchObject({ deficiency: id, loginUid: 1000 });
  });

  it("what the operator typed is shown escaped: a reason or name cannot forge a line or drive the terminal", () => {
    const { dir, store, id } = withOpen();
    store.acknowledge(id, { ...ACK, reason: "fine\n2026-11-23 11:00:00Z  #99  KEPT forged \x1b[32mOK", by: "Mallory\x1b]0;owned\x07" });
    store.close();
    const h = covenant(["history", "--state", dir]);
    expect(h.out).not.toContain("\x1b");
    expect(h.out.split("\n").some((line) => line.startsWith("2026-11-23 11:00:00Z  #99"))).toBe(false);
    expect(h.out).toContain("by Mallory\\x1b]0;owned\\x07 as root");
  });

  it("within a run, the ack is the run's; a login uid that is unset is said so", () => {
    const { store, id } = withOpen();
    const run = store.beginRun();
    store.acknowledge(id, { ...ACK, loginUid: null });
    expect(store.history({ kinds: ["ack"] })[0]).toMatchObject({ run });
    store.finishRun(runBody(run, 2));
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("refuses an unknown id, an ambiguous or too short prefix, a resolved deficiency and a notice, and writes nothing", () => {
    const { dir, store, id } = withOpen();
    let run = store.beginRun();
    store.recordResult(run, at(run), result("ITGC-AC-01/file:a", "kept"), finding());
    store.recordResult(run, at(run), result("ITGC-AC-01/file:c", "repaired", ["mode is 0666, promised 0640"]), finding());
    store.finishRun(runBody(run, 3));
    const notice = store.listDeficiencies({ status: "all" }).find((d) => d.notice)!;
    const before = raw(dir).prepare("SELECT count(*) FROM ledger").pluck().get();
    const refusal = (what: string) => {
      try {
        store.acknowledge(what, ACK);
      } catch (err) {
        expect(err).toBeInstanceOf(DeficiencyError);
        return err as DeficiencyError;
      }
      throw new Error(`acknowledging ${what} was not refused`);
    };
    expect(refusal("d-zzzzzzzz")).toMatchObject({ reason: "unknown", message: "no deficiency d-zzzzzzzz in the store (`covenant deficiencies --all` lists them)" });
    expect(refusal(id.slice(0, 4)).reason).toBe("unknown");
    expect(refusal(id)).toMatchObject({ reason: "resolved", message: `the deficiency ${id} was resolved at ${at(2)} (kept, run 2): there is nothing open to acknowledge` });
    expect(refusal(notice.id)).toMatchObject({ reason: "resolved", message: `the deficiency ${notice.id} is a notice (found and repaired at once): there is nothing open to acknowledge` });
    expect(raw(dir).prepare("SELECT count(*) FROM ledger").pluck().get()).toBe(before);
    run = store.beginRun();
    store.finishRun(runBody(run, 0));
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("an acknowledgement taken off its deficiency (the row put back from before it) is found", () => {
    const { dir, store, id } = withOpen();
    const before = raw(dir).prepare("SELECT * FROM deficiencies WHERE id = ?").get(id) as Record<string, unknown>;
    store.acknowledge(id, ACK);
    store.close();
    const db = raw(dir);
    db.prepare("INSERT OR REPLACE INTO deficiencies VALUES (@id, @key, @status, @notice, @body, @opened_run, @updated_at, @seal)").run(before);
    db.close();
    const reader = StateStore.openReadOnly(dir);
    expect(reader.verify().tampering).toMatchObject({ kind: "altered", message: expect.stringMatching(new RegExp(`^the deficiency ${id} does not carry its acknowledgement of record \\d+: it was put back from an older copy$`)) });
    reader.close();
  });
});
