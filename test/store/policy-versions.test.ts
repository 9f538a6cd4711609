// Policy versions in the history: each policy text stored once per store, content-addressed by the
// hash a run's summary names, written before the summary of the first run that names it; the
// common case (the last run's policy) answered by the last summary alone; `verify` holding every
// policy record to its text and every later summary to a stored policy; `history` listing one line.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import type { LedgerRow } from "../../src/store/ledger.ts";
import { hashPolicy, PolicyRecords, sha256Of } from "../../src/store/policies.ts";
import { StateStore, type PolicyBody, type RunBody } from "../../src/store/store.ts";
import { raw, removeTempDirs, result, rewrite, runBody, tempDir, verified } from "./helpers.ts";

beforeAll(() => ensureBuilt());
afterAll(() => removeTempDirs());

const A = [
  { path: "/etc/covenant/sox.promise", text: 'control "SOX-1" {\n  title = "ledger"\n}\n' },
  { path: "/etc/covenant/lib/accounts.promise", text: "# library\n" },
];
const B = [{ path: "/etc/covenant/sox.promise", text: 'control "SOX-1" {\n  title = "ledger, reviewed"\n}\n' }];

/** A summary of run `run` naming the policy `files`. */
function summary(run: number, files: { path: string; text: string }[]): RunBody {
  return { ...runBody(run, 1), policy: hashPolicy(files) };
}

/** A store whose runs were given these policies in turn, one promise each, kept. */
function runsOf(...policies: { path: string; text: string }[][]): { dir: string; store: StateStore } {
  const dir = tempDir("policy");
  const store = StateStore.open(dir);
  for (const files of policies) {
    const run = store.beginRun();
    store.recordResult(run, `2026-11-23T10:${String(run).padStart(2, "0")}:00.500Z`, result("C-1/file:a", "kept"));
    store.finishRun(summary(run, files), files);
  }
  return { dir, store };
}

const records = (store: StateStore, kind: string) => store.history().filter((e) => e.kind === kind);

describe("policy records", () => {
  it("a policy is stored once, before the summary of the first run that names it, and every summary names its record", () => {
    const { store } = runsOf(A, A, A);
    const policies = records(store, "policy");
    expect(policies).toHaveLength(1);
    const stored = policies[0]!;
    expect(stored.run).toBe(1);
    const body = stored.body as PolicyBody;
    expect(body.hash).toBe(hashPolicy(A));
    expect(body.at).toBe(runBody(1, 1).started);
    expect(body.files).toEqual(A.map((f) => ({ path: f.path, sha256: sha256Of(f.text), bytes: Buffer.byteLength(f.text), text: f.text })));
    const summaries = records(store, "run");
    // the policy record comes right before the first summary: same run, same transaction
    expect(summaries[0]!.seq).toBe(stored.seq + 1);
    expect(summaries.map((e) => (e.body as RunBody).policyRecord)).toEqual([stored.seq, stored.seq, stored.seq]);
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("content-addressed: A, then B, then A again stores two versions, and the third run names A's first record", () => {
    const { store } = runsOf(A, B, A);
    const policies = records(store, "policy");
    expect(policies.map((e) => [(e.body as PolicyBody).hash, e.run])).toEqual([
      [hashPolicy(A), 1],
      [hashPolicy(B), 2],
    ]);
    expect(records(store, "run").map((e) => (e.body as RunBody).policyRecord)).toEqual([policies[0]!.seq, policies[1]!.seq, policies[0]!.seq]);
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("a dry run's summary stores its policy too", () => {
    const dir = tempDir("policy");
    const store = StateStore.open(dir);
    const run = store.beginRun();
    store.finishRun({ ...summary(run, B), dryRun: true }, B);
    expect(store.policyVersions().map((v) => v.hash)).toEqual([hashPolicy(B)]);
    store.close();
  });

  it("a summary whose hash is not that of the files given is refused (a bug), and nothing is written", () => {
    const dir = tempDir("policy");
    const store = StateStore.open(dir);
    const run = store.beginRun();
    expect(() => store.finishRun(summary(run, A), B)).toThrow(/names policy [0-9a-f]{64}, not the hash of the files given/);
    expect(store.history()).toEqual([]);
    store.close();
  });

  it("the common case is answered by the last summary alone; only a changed policy looks through the policy records", () => {
    const { dir, store } = runsOf(A, B);
    store.close();
    const db = raw(dir);
    const versions = new PolicyRecords(db);
    const [a, b] = db.prepare("SELECT seq FROM ledger WHERE kind = 'policy' ORDER BY seq").pluck().all() as number[];
    expect(versions.recordOf(hashPolicy(B))).toBe(b);
    expect(versions.recordOf(hashPolicy(A))).toBe(a);
    expect(versions.recordOf("0".repeat(64))).toBeUndefined();
    // B's record taken away behind the store's back: the last summary still answers for B (it was
    // not looked up), while A, a changed policy, is still found among the policy records
    db.prepare("DELETE FROM ledger WHERE seq = ?").run(b);
    expect(versions.recordOf(hashPolicy(B))).toBe(b);
    expect(versions.recordOf(hashPolicy(A))).toBe(a);
    // the last summary is read backwards along the primary key, stopping at the first: no sort, no scan of the rest
    const plan = (db.prepare("EXPLAIN QUERY PLAN SELECT body FROM ledger WHERE kind = 'run' ORDER BY seq DESC LIMIT 1").all() as { detail: string }[]).map((p) => p.detail).join("; ");
    expect(plan).not.toMatch(/TEMP B-TREE/);
    db.close();
  });

  it("policyVersion gives a version's files; policyVersions lists each with its first run, when, files and bytes", () => {
    const { dir, store } = runsOf(A, B, A);
    store.close();
    const reader = StateStore.openReadOnly(dir);
    const a = reader.policyVersion(hashPolicy(A));
    expect(a).toMatchObject({ hash: hashPolicy(A), run: 1, at: runBody(1, 1).started });
    expect(a!.files.map((f) => [f.path, f.text])).toEqual(A.map((f) => [f.path, f.text]));
    expect(reader.policyVersion("0".repeat(64))).toBeUndefined();
    expect(reader.policyVersions()).toEqual([
      { hash: hashPolicy(A), record: a!.record, firstRun: 1, firstAt: runBody(1, 1).started, files: 2, bytes: A.reduce((n, f) => n + Buffer.byteLength(f.text), 0) },
      { hash: hashPolicy(B), record: expect.any(Number), firstRun: 2, firstAt: runBody(2, 1).started, files: 1, bytes: Buffer.byteLength(B[0]!.text) },
    ]);
    reader.close();
  });

  it("summaries written before policy records were kept are not held to them; every one after the first is", () => {
    const dir = tempDir("policy");
    const store = StateStore.open(dir);
    for (let i = 0; i < 2; i++) store.finishRun(runBody(store.beginRun(), 0));
    const run = store.beginRun();
    store.finishRun(summary(run, A), A);
    expect(store.verify().tampering).toBeUndefined();
    // a later summary written without its policy (an older Covenant) is found
    store.finishRun(runBody(store.beginRun(), 0));
    expect(store.verify().tampering).toMatchObject({ kind: "deleted", message: expect.stringMatching(/^run 4's summary \(record \d+\) names policy p, but no policy record at or before it holds that policy: the policy text in force is missing$/) });
    store.close();
  });
});

const policySeqs = (dir: string) => raw(dir).prepare("SELECT seq FROM ledger WHERE kind = 'policy' ORDER BY seq").pluck().all() as number[];
const editBody = <T>(r: LedgerRow, f: (b: T) => void): string => {
  const b = JSON.parse(r.body) as T;
  f(b);
  return JSON.stringify(b);
};

describe("verify: policy versions", () => {
  it("an intact store with policy versions, and its chain rewritten unchanged, verify", () => {
    const { dir, store } = runsOf(A, B, A);
    store.close();
    rewrite(dir, () => undefined);
    expect(verified(dir)).toBeUndefined();
  });

  it("a policy text that does not match its sha256 is named", () => {
    const { dir, store } = runsOf(A, B);
    store.close();
    const [a] = policySeqs(dir);
    rewrite(dir, (r) => (r.seq === a ? editBody<PolicyBody>(r, (b) => (b.files[1]!.text = "# library, loosened\n")) : undefined));
    expect(verified(dir)).toEqual({ kind: "altered", seq: a, message: `policy record ${a} (policy ${hashPolicy(A).slice(0, 12)}): the text of /etc/covenant/lib/accounts.promise does not match its sha256 ${sha256Of(A[1]!.text).slice(0, 12)}` });
  });

  it("a text changed with its sha256 and size still does not hash to the version it is stored as", () => {
    const { dir, store } = runsOf(A);
    store.close();
    const [a] = policySeqs(dir);
    const text = "# library, loosened\n";
    rewrite(dir, (r) => (r.seq === a ? editBody<PolicyBody>(r, (b) => Object.assign(b.files[1]!, { text, sha256: sha256Of(text), bytes: Buffer.byteLength(text) })) : undefined));
    const changed = hashPolicy([A[0]!, { path: A[1]!.path, text }]);
    expect(verified(dir)).toEqual({ kind: "altered", seq: a, message: `policy record ${a} (policy ${hashPolicy(A).slice(0, 12)}): its files hash to ${changed.slice(0, 12)}, not to the hash it is stored as` });
  });

  it("a size that is not the text's is named", () => {
    const { dir, store } = runsOf(A);
    store.close();
    const [a] = policySeqs(dir);
    rewrite(dir, (r) => (r.seq === a ? editBody<PolicyBody>(r, (b) => (b.files[0]!.bytes += 1)) : undefined));
    expect(verified(dir)).toMatchObject({ kind: "altered", seq: a, message: expect.stringContaining(`the text of /etc/covenant/sox.promise is ${Buffer.byteLength(A[0]!.text)} bytes, not the ${Buffer.byteLength(A[0]!.text) + 1} recorded`) });
  });

  it("a record of kind policy that does not hold a policy version is named", () => {
    const { dir, store } = runsOf(A);
    store.close();
    const [a] = policySeqs(dir);
    rewrite(dir, (r) => (r.seq === a ? editBody<PolicyBody>(r, (b) => delete (b as Partial<PolicyBody>).files) : undefined));
    expect(verified(dir)).toMatchObject({ kind: "altered", seq: a, message: `policy record ${a} does not hold a policy version (a hash, when, and files each with path, sha256, bytes and text)` });
  });

  it("a summary naming a policy that no record before it holds is found: the text in force is missing", () => {
    const { dir, store } = runsOf(A, A);
    store.close();
    const last = raw(dir).prepare("SELECT seq FROM ledger WHERE kind = 'run' ORDER BY seq DESC LIMIT 1").pluck().get() as number;
    rewrite(dir, (r) => (r.seq === last ? editBody<RunBody>(r, (b) => Object.assign(b, { policy: hashPolicy(B), policyRecord: undefined })) : undefined));
    expect(verified(dir)).toEqual({ kind: "deleted", seq: last, message: `run 2's summary (record ${last}) names policy ${hashPolicy(B).slice(0, 12)}, but no policy record at or before it holds that policy: the policy text in force is missing` });
  });

  it("a summary naming a record that is not a policy record before it, or one holding another policy, is found", () => {
    const { dir, store } = runsOf(A, B);
    store.close();
    const [a, b] = policySeqs(dir);
    const [first, second] = raw(dir).prepare("SELECT seq FROM ledger WHERE kind = 'run' ORDER BY seq").pluck().all() as number[];
    rewrite(dir, (r) => (r.seq === first ? editBody<RunBody>(r, (x) => (x.policyRecord = b)) : undefined));
    expect(verified(dir)).toEqual({ kind: "deleted", seq: first, message: `run 1's summary (record ${first}) names policy record ${b}, which is not a policy record before it: the policy text in force is missing` });
    rewrite(dir, (r) => (r.seq === first ? editBody<RunBody>(r, (x) => (x.policyRecord = a)) : r.seq === second ? editBody<RunBody>(r, (x) => (x.policyRecord = a)) : undefined));
    expect(verified(dir)).toEqual({ kind: "altered", seq: second, message: `run 2's summary (record ${second}) names policy ${hashPolicy(B).slice(0, 12)}, but the policy record it names (${a}) holds policy ${hashPolicy(A).slice(0, 12)}` });
  });
});

describe("history: policy records", () => {
  it("one line per policy version, in text and JSON, never its text", () => {
    const { dir, store } = runsOf(A, A, B);
    store.close();
    const text = covenant(["history", "--state", dir]);
    expect(text.code).toBe(0);
    const bytesA = A.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
    const lines = text.out.split("\n").filter((l) => l.includes(" policy "));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`#\\d+  policy ${hashPolicy(A).slice(0, 12)} in force from run 1: 2 files, ${bytesA} bytes$`));
    expect(lines[1]).toMatch(new RegExp(`#\\d+  policy ${hashPolicy(B).slice(0, 12)} in force from run 3: 1 file, ${Buffer.byteLength(B[0]!.text)} bytes$`));
    expect(text.out).not.toContain("title");
    const json = covenant(["history", "--json", "--state", dir]);
    expect(json.code).toBe(0);
    const entries = JSON.parse(json.out) as { kind: string; run: number; body: PolicyBody }[];
    const policies = entries.filter((e) => e.kind === "policy");
    expect(policies.map((e) => e.body)).toEqual([
      { hash: hashPolicy(A), at: runBody(1, 1).started, files: A.map((f) => ({ path: f.path, sha256: sha256Of(f.text), bytes: Buffer.byteLength(f.text) })) },
      { hash: hashPolicy(B), at: runBody(3, 1).started, files: B.map((f) => ({ path: f.path, sha256: sha256Of(f.text), bytes: Buffer.byteLength(f.text) })) },
    ]);
    expect(json.out).not.toContain("title");
  });

  it("a large policy's size is written with thousands separators", () => {
    const big = [{ path: "/etc/covenant/big.promise", text: "#".repeat(12_344) + "\n" }];
    const { dir, store } = runsOf(big);
    store.close();
    expect(covenant(["history", "--state", dir]).out).toContain(`in force from run 1: 1 file, 12,345 bytes`);
  });
});
