// Integrity approvals given on the fleet hub, applied on the host after a push (hub-push.ts): the
// decision (its signature already checked, hub/client/decisions.ts checkDecision) names the
// promise, the change record that reported its state, and that state's digest (protocol.ts
// integrityStateOf). It is applied, through the same code as `covenant approve`
// (commands/integrity.ts approveObserved), only while the promise's newest change record is still
// the one named and the host still observes that state; otherwise it is refused with one record
// saying why. The policy is the one the newest run ran, as its policy record holds it.
import { userInfo } from "node:os";
import { evaluate, promiseKeys } from "../evaluator/engine.js";
import { isIntegrityPromise } from "../evaluator/integrity-check.js";
import { readFacts } from "../facts/host.js";
import { defaultRoots } from "../probes/result.js";
import { checkStoredPolicy } from "../report/stored-policy.js";
import { recordedFindings } from "../store/recorded-findings.js";
import { MAX_DIFFERENCES, type StateStore } from "../store/store.js";
import { checkDecision, type DecisionsApplied } from "../hub/client/decisions.js";
import type { Enrolment } from "../hub/client/enrolment.js";
import { integrityStateOf, type HubDecision, type SignedDecision } from "../hub/protocol.js";
import { approveObserved } from "./commands/integrity.js";

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? "?"}`;
  }
}

/** Why the decision cannot be applied as it stands, or the policy and promise to approve it with. */
function approvable(store: StateStore, d: HubDecision, now: Date): string | { policy: NonNullable<ReturnType<typeof checkStoredPolicy>["policy"]>; files: { path: string; text: string }[] } {
  if (typeof d.key !== "string" || !Number.isSafeInteger(d.record) || typeof d.state !== "string") return "the approval names no promise, change record or state";
  const latest = store.lastChangeOf(d.key);
  if (!latest || latest.seq !== d.record) return `the promise's state changed since record ${d.record} (its newest change record is ${latest?.seq ?? "none"}): the state approved is no longer the one observed`;
  if (integrityStateOf(latest.findings) !== d.state) return `record ${d.record} does not report the state approved on the hub`;
  const hash = store.lastRunPolicy();
  const version = hash !== undefined ? store.policyVersion(hash) : undefined;
  if (!version) return "the policy of the newest run is not in the store";
  const checked = checkStoredPolicy(version.hash, version.files, now.toISOString().slice(0, 10));
  if (!checked.policy) return `the policy of the newest run ${checked.problem ?? "does not check"}`;
  if (!promiseKeys(checked.policy).some((k) => k.key === d.key && isIntegrityPromise(k.promise))) return "the policy of the newest run has no such integrity promise";
  return { policy: checked.policy, files: version.files.map((f) => ({ path: f.path, text: f.text })) };
}

/** The digest of the state the host observes now for the promise (a dry run against the approved states). */
async function observedState(store: StateStore, policy: NonNullable<ReturnType<typeof checkStoredPolicy>["policy"]>, key: string, now: Date): Promise<string | undefined> {
  const facts = readFacts({ now, calendar: policy.calendar, etcRoot: defaultRoots.etc });
  const seen = await evaluate(policy, { roots: defaultRoots, dryRun: true, integrity: store, baselines: store, samples: store, facts, now, only: new Set([key]) });
  const r = seen.results.find((x) => x.key === key);
  return r?.findings ? integrityStateOf(recordedFindings(r.findings, MAX_DIFFERENCES)) : undefined;
}

/** Applies one approval, or refuses it with its record; whether it was applied. */
async function applyOne(store: StateStore, d: HubDecision, hub: string, now: Date, out: DecisionsApplied): Promise<boolean> {
  const by = `${d.by.slice(0, 100)} (hub)`;
  const refuse = (why: string) => {
    const done = store.applyHubDecision(d.id, (w) => w.refuse({ decision: d.id, kind: d.kind, control: d.control, refused: why, by, at: new Date().toISOString(), hub }));
    if (done.already) out.already.push(d.id);
    else out.refused.push({ id: d.id, kind: d.kind, record: done.seq, why });
    return false;
  };
  const ready = approvable(store, d, now);
  if (typeof ready === "string") return refuse(ready);
  if ((await observedState(store, ready.policy, d.key!, now)) !== d.state) return refuse("the host observes another state now than the one approved on the hub: nothing approved");
  const selection = { keys: new Set([d.key!]), select: () => true, paths: [] };
  const done = await approveObserved(store, ready, selection, { how: "approve", targets: [d.key!], by, user: osUser(), loginUid: null, reason: d.reason.slice(0, 1000), decision: d.id }, now);
  if ("problems" in done) return refuse(done.problems.join("; "));
  out.applied.push({ id: d.id, kind: d.kind, record: done.record });
  return true;
}

/**
 * Applies the integrity approvals among the decisions (each once; the others are applyDecisions').
 * Returns the promises re-baselined: a watcher evaluates them again, whole.
 */
export async function applyIntegrityDecisions(store: StateStore, enrolment: Enrolment, signed: readonly SignedDecision[], out: DecisionsApplied, now: () => Date = () => new Date()): Promise<string[]> {
  const seen = new Set<string>();
  const approved: string[] = [];
  for (const s of signed) {
    const d = checkDecision(s, enrolment.host, enrolment.hubKey);
    if ("rejected" in d || d.kind !== "integrity-approval" || seen.has(d.id)) continue;
    seen.add(d.id);
    if (store.hubDecisionAnswer(d.id) !== undefined) {
      out.already.push(d.id);
      continue;
    }
    if (await applyOne(store, d, enrolment.hubKey!.fingerprint, now(), out)) approved.push(d.key!);
  }
  return approved;
}
