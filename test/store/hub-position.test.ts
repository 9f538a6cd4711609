// What the hub holds of this host, in the store: sealed with the host key, only forward unless the
// hub itself went back, for one host id, and unseen by `verify`. And the records as the hub takes
// them: extract lines in batches bounded by count and bytes.
import Database from "better-sqlite3";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { extractLine } from "../../src/evidence/manifest.ts";
import { chainThrough, readBatch } from "../../src/hub/client/batch.ts";
import { chainOver, encodeBody, hubChainStart } from "../../src/hub/protocol.ts";
import { StateStore } from "../../src/store/store.ts";
import { populated, removeTempDirs } from "./helpers.ts";

afterAll(() => removeTempDirs());

const HOST = "0b6c1f8e-2d3a-4c5b-9e7f-1a2b3c4d5e6f";
const chain = (c: string) => c.repeat(64);

describe("the hub position", () => {
  it("is sealed, moves only forward unless the hub went back, belongs to one host id, and leaves verify intact", () => {
    const { dir, store } = populated(3);
    expect(store.hubPosition(HOST)).toBeUndefined();
    expect(store.setHubPosition(HOST, { seq: 5, chain: chain("a") })).toBe(true);
    expect(store.hubPosition(HOST)).toMatchObject({ seq: 5, chain: chain("a") });
    expect(store.setHubPosition(HOST, { seq: 3, chain: chain("b") })).toBe(false);
    expect(store.hubPosition(HOST)?.seq).toBe(5);
    expect(store.setHubPosition(HOST, { seq: 3, chain: chain("b") }, { back: true })).toBe(true);
    expect(store.hubPosition(HOST)?.seq).toBe(3);
    expect(store.hubPosition("ffffffff-2d3a-4c5b-9e7f-1a2b3c4d5e6f")).toBeUndefined();
    expect(store.verify().tampering).toBeUndefined();
    store.close();

    // edited outside Covenant: not believed
    const db = new Database(join(dir, "state.db"));
    const text = db.prepare("SELECT value FROM meta WHERE key = 'hub_position'").pluck().get() as string;
    db.prepare("UPDATE meta SET value = ? WHERE key = 'hub_position'").run(text.replace('"seq":3', '"seq":9'));
    db.close();
    const again = StateStore.openReadOnly(dir);
    expect(again.hubPosition(HOST)).toBeUndefined();
    expect(again.verify().tampering).toBeUndefined();
    again.close();
  });

  it("reads records after a position as extract lines with the hub's chain, bounded by count and bytes", () => {
    const { store } = populated(6);
    const all = store.records(1, store.lastRecord()!.seq).map((r) => extractLine(r));
    const start = { seq: 0, chain: hubChainStart(HOST).toString("hex") };
    const whole = readBatch(store, start);
    expect(whole.records).toEqual(all);
    expect(whole.chains.at(-1)).toBe(chainOver(hubChainStart(HOST), all).toString("hex"));
    expect(whole.head?.seq).toBe(all.length);

    const three = readBatch(store, start, { maxRecords: 3 });
    expect(three.records).toEqual(all.slice(0, 3));
    const next = readBatch(store, { seq: 3, chain: three.chains.at(-1)! });
    expect(next.records).toEqual(all.slice(3));
    expect(next.chains.at(-1)).toBe(whole.chains.at(-1));

    // a byte limit: the batch's body (records and envelope) stays within it
    const limit = 4096 + 600;
    const small = readBatch(store, start, { maxBytes: limit });
    expect(small.records.length).toBeGreaterThan(0);
    expect(small.records.length).toBeLessThan(all.length);
    expect(encodeBody({ records: small.records } as never).length).toBeLessThan(600);

    expect(chainThrough(store, HOST, 4)).toEqual({ chain: whole.chains[3] });
    expect(chainThrough(store, HOST, all.length + 1)).toMatchObject({ cannot: expect.stringContaining(`only up to ${all.length}`) });
    store.close();
  });
});
