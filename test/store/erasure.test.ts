// What `history` marked verified that `verify` called tampering: records renumbered to leave a
// gap (the MAC does not cover the record's number). History and verify now agree.
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findTampering, type LedgerRow } from "../../src/store/ledger.ts";
import { populated, raw, removeTempDirs } from "./helpers.ts";

afterAll(() => removeTempDirs());

describe("history agrees with verify", () => {
  it("records renumbered to leave a gap are not shown as verified", () => {
    const { dir, store } = populated(3);
    const db = raw(dir);
    for (const seq of db.prepare("SELECT seq FROM ledger WHERE seq >= 5 ORDER BY seq DESC").pluck().all() as number[]) db.prepare("UPDATE ledger SET seq = seq + 3 WHERE seq = ?").run(seq);
    expect(store.verify().tampering).toMatchObject({ kind: "deleted", seq: 5 });
    const marked = store.history().filter((e) => !e.verified);
    expect(marked.map((e) => `${e.seq}: ${e.problem}`)).toEqual(["8: records before it are missing, or it was renumbered (expected record 5): it cannot be verified"]);
    store.close();
  });

  it("for any deletion, renumbering, alteration or insertion, history marks a record or the chain's end exactly when verify finds the chain broken (property)", () => {
    const { dir, store } = populated(4);
    const db = raw(dir);
    const pristine = db.prepare("SELECT * FROM ledger ORDER BY seq").all() as LedgerRow[];
    const restore = () => {
      db.exec("DELETE FROM ledger");
      const put = db.prepare("INSERT INTO ledger VALUES (@seq, @kind, @run, @time, @body, @mac)");
      for (const r of pristine) put.run(r);
    };
    const n = pristine.length;
    const edit = fc.oneof(
      fc.record({ op: fc.constant("delete" as const), at: fc.integer({ min: 1, max: n }) }),
      fc.record({ op: fc.constant("shift" as const), at: fc.integer({ min: 1, max: n }), by: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ op: fc.constant("alter" as const), at: fc.integer({ min: 1, max: n }) }),
      fc.record({ op: fc.constant("insert" as const), at: fc.integer({ min: 1, max: n }) }),
      fc.record({ op: fc.constant("none" as const) }),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        try {
          for (const e of edits) {
            if (e.op === "delete") db.prepare("DELETE FROM ledger WHERE seq = ?").run(e.at);
            else if (e.op === "shift") for (const seq of db.prepare("SELECT seq FROM ledger WHERE seq >= ? ORDER BY seq DESC").pluck().all(e.at) as number[]) db.prepare("UPDATE ledger SET seq = seq + ? WHERE seq = ?").run(e.by, seq);
            else if (e.op === "alter") db.prepare("UPDATE ledger SET body = body || ' ' WHERE seq = ?").run(e.at);
            else if (e.op === "insert" && !db.prepare("SELECT 1 FROM ledger WHERE seq = ?").get(e.at + 1000)) db.prepare("INSERT INTO ledger VALUES (?, 'change', 1, 't', '{}', zeroblob(32))").run(e.at + 1000);
          }
          const rows = db.prepare("SELECT seq, kind, run, time, body, mac FROM ledger ORDER BY seq").all() as LedgerRow[];
          const key = Buffer.from(readFileSync(join(dir, "host.key"), "utf8").trim(), "hex");
          const chain = findTampering(key, rows);
          const read = store.readHistory();
          const flagged = read.entries.some((x) => !x.verified) || read.end !== undefined;
          if ((chain !== undefined || read.end !== undefined) !== flagged) return false;
          if (!chain) return true;
          // the record verify names (or, for records deleted, the first one after them) is marked
          const named = chain.kind === "deleted" ? read.entries.find((x) => x.seq > chain.seq) : read.entries.find((x) => x.seq === chain.seq);
          return named === undefined || !named.verified;
        } finally {
          restore();
        }
      }),
      { numRuns: 80 },
    );
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });
});
