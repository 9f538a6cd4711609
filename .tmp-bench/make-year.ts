// A year's store, made fast: one real run through StateStore (key, schema, anchors), then 105,120
// summaries and ~210,000 change records appended with their MACs in one transaction.
import Database from "better-sqlite3";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { keyOf } from "../test/store/helpers.ts";
import { GENESIS, macOf, sealHead } from "../src/store/ledger.ts";
import { hashPolicy, outcomesDigest, SCHEMA_VERSION, StateStore } from "../src/store/store.ts";
import { policyBody } from "../src/store/policies.ts";
import { rosterBody } from "../src/store/rosters.ts";

const dir = process.argv[2]!;
const CONTROLS = 30;
const PER = 7; // 210 promises
let text = `stakeholder ops { description = "Operations" }\ncalendar {\n  timezone = "UTC"\n}\n`;
const keys: string[] = [];
for (let c = 0; c < CONTROLS; c++) {
  text += `\ncontrol "C-${c}" {\n  title = "Control ${c}"\n  severity = high\n  key = ${c % 3 === 0}\n  refs = ["SOX 404"]\n`;
  for (let p = 0; p < PER; p++) {
    text += `  file "/srv/c${c}/f${p}" -> [ops] {\n    mode = 0640\n  }\n`;
    keys.push(`C-${c}/file:/srv/c${c}/f${p}`);
  }
  text += "}\n";
}
const files = [{ path: "/etc/covenant/policies/year.promise", text }];
const store = StateStore.open(dir);
store.close();
const key = keyOf(dir);
const db = new Database(join(dir, "state.db"));
const insert = db.prepare("INSERT INTO ledger (seq, kind, run, time, body, mac) VALUES (?, ?, ?, ?, ?, ?)");
let seq = (db.prepare("SELECT max(seq) FROM ledger").pluck().get() as number | null) ?? 0;
let prev: Buffer = seq > 0 ? (db.prepare("SELECT mac FROM ledger WHERE seq = ?").pluck().get(seq) as Buffer) : GENESIS;
const add = (kind: string, run: number, time: string, body: object) => {
  const b = JSON.stringify(body);
  const mac = macOf(key, prev, { kind: kind as "run", run, time, body: b });
  insert.run(++seq, kind, run, time, b, mac);
  prev = mac;
  return seq;
};
const start = Date.parse("2026-01-01T00:00:00Z");
const outcome = new Map<string, string>();
let rnd = 12345;
const rand = () => ((rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const RUNS = 105_120;
db.transaction(() => {
  const policy = add("policy", 1, new Date(start).toISOString(), policyBody(files, new Date(start).toISOString()));
  const roster = add("roster", 1, new Date(start).toISOString(), rosterBody(keys));
  for (let run = 1; run <= RUNS; run++) {
    const t = new Date(start + (run - 1) * 300_000).toISOString();
    if (run === 1) for (const k of keys) { outcome.set(k, "kept"); add("change", run, t, { key: k, control: k.split("/")[0], type: "file", promiser: k.split(":")[1], from: null, to: "kept", reason: "as promised", differences: [], changes: [] }); }
    else for (let i = 0; i < 2; i++) {
      const k = keys[Math.floor(rand() * keys.length)]!;
      const to = outcome.get(k) === "kept" ? "drift" : "kept";
      add("change", run, t, { key: k, control: k.split("/")[0], type: "file", promiser: k.split(":")[1], from: outcome.get(k), to, reason: to === "kept" ? "as promised" : "mode is 0644, promised 0640", differences: to === "kept" ? [] : ["mode is 0644, promised 0640"], changes: [] });
      outcome.set(k, to);
    }
    const results = keys.map((k) => ({ key: k, outcome: outcome.get(k)! }));
    add("run", run, new Date(Date.parse(t) + 2000).toISOString(), { run, kind: "run", host: "ledger-1", started: t, finished: new Date(Date.parse(t) + 2000).toISOString(), policy: hashPolicy(files), policyRecord: policy, roster, dryRun: false, promises: keys.length, counts: {}, outcomes: outcomesDigest(results), changed: 2 });
  }
  db.prepare("INSERT OR REPLACE INTO meta VALUES ('last_run', ?)").run(String(RUNS));
  db.prepare("INSERT OR REPLACE INTO meta VALUES ('head', ?)").run(JSON.stringify(sealHead(key, seq, prev, { schema: SCHEMA_VERSION })));
})();
db.close();
writeFileSync(join(dir, "ledger.head"), JSON.stringify(sealHead(key, seq, prev, { schema: SCHEMA_VERSION, run: RUNS })) + "\n");
console.log("records", seq);
