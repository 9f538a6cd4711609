// `verify` for the policy versions: each `policy` record's files hash to their sha256 and,
// together, to the hash it is stored under; and from the first policy record on, every run's
// summary names a policy that the history holds at or before it (the record it names, when it
// names one). Summaries written before policy records were kept name a hash only: nothing holds
// their text, and they are not held to it.
import type { Tampering } from "./ledger.js";
import { hashPolicy, parsePolicy, sha256Of } from "./policies.js";
import { FirstProblem, type RecordView } from "./row-check.js";

export class PolicyCheck extends FirstProblem {
  private readonly stored = new Map<string, number>();
  private readonly policies = new Map<number, string>();

  protected check(v: RecordView): Tampering | undefined {
    const { stored, policies } = this;
    const r = v.row;
    if (r.kind === "policy") {
      const body = parsePolicy(String(r.body));
      if (!body) return { kind: "altered", seq: r.seq, message: `policy record ${r.seq} does not hold a policy version (a hash, when, and files each with path, sha256, bytes and text)` };
      const wrong = policyProblem(body);
      if (wrong) return { kind: "altered", seq: r.seq, message: `policy record ${r.seq} (policy ${body.hash.slice(0, 12)}): ${wrong}` };
      if (!stored.has(body.hash)) stored.set(body.hash, r.seq);
      policies.set(r.seq, body.hash);
      return undefined;
    }
    if (r.kind !== "run" || stored.size === 0) return undefined;
    const named = v.object();
    const hash = typeof named?.["policy"] === "string" ? named["policy"] : undefined;
    const policyRecord = Number.isSafeInteger(named?.["policyRecord"]) ? (named!["policyRecord"] as number) : undefined;
    const what = `run ${r.run}'s summary (record ${r.seq})`;
    if (hash === undefined) return { kind: "altered", seq: r.seq, message: `${what} names no policy hash` };
    if (policyRecord !== undefined) {
      const held = policies.get(policyRecord);
      if (held === undefined) return { kind: "deleted", seq: r.seq, message: `${what} names policy record ${policyRecord}, which is not a policy record before it: the policy text in force is missing` };
      if (held !== hash) return { kind: "altered", seq: r.seq, message: `${what} names policy ${hash.slice(0, 12)}, but the policy record it names (${policyRecord}) holds policy ${held.slice(0, 12)}` };
    } else if (!stored.has(hash)) {
      return { kind: "deleted", seq: r.seq, message: `${what} names policy ${hash.slice(0, 12)}, but no policy record at or before it holds that policy: the policy text in force is missing` };
    }
    return undefined;
  }
}

/** Why a policy record's files are not the policy it is stored as, or undefined. */
function policyProblem(body: { hash: string; files: { path: string; sha256: string; bytes: number; text: string }[] }): string | undefined {
  for (const f of body.files) {
    if (sha256Of(f.text) !== f.sha256) return `the text of ${f.path} does not match its sha256 ${f.sha256.slice(0, 12)}`;
    if (Buffer.byteLength(f.text, "utf8") !== f.bytes) return `the text of ${f.path} is ${Buffer.byteLength(f.text, "utf8")} bytes, not the ${f.bytes} recorded`;
  }
  const together = hashPolicy(body.files);
  if (together !== body.hash) return `its files hash to ${together.slice(0, 12)}, not to the hash it is stored as`;
  return undefined;
}
