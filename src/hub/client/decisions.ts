// The decisions a push reply carries (acknowledgements and waivers given on the hub), checked and
// applied on the host. A decision is taken only when the hub key the host kept at enrolment signed
// its statement (protocol.ts decisionStatement: the label, this host's id, the decision's text) and
// it names this host: anything else is not applied and writes nothing (a forger must not be able
// to fill the host's history). A decision taken yields exactly one record, once (StateStore
// applyHubDecision): an ack record applied through the same code `covenant ack` uses, a waiver
// record the evaluator honours from the next run, or a `decision` record saying why it was
// refused; a decision carried again (the hub carries it until it holds that record) or replayed
// finds its record and changes nothing.
import { userInfo } from "node:os";
import { verify } from "node:crypto";
import { publicKeyFromRaw } from "../../store/signing-key.js";
import type { StateStore } from "../../store/store.js";
import { DeficiencyError } from "../../store/deficiencies.js";
import { decisionStatement, MAX_DECISIONS_PER_REPLY, type HubDecision, type SignedDecision } from "../protocol.js";
import type { Enrolment } from "./enrolment.js";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const CONTROL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const MAX_TEXT = 8 * 1024;

/** What became of the decisions a push brought. */
export interface DecisionsApplied {
  applied: { id: string; kind: string; record: number }[];
  refused: { id: string; kind: string; record: number; why: string }[];
  /** answered by an earlier record (carried again, or replayed) */
  already: string[];
  /** not taken: not signed by the hub's key, not for this host, or not readable (nothing recorded) */
  rejected: string[];
  /** why none was looked at this time (a run holds the lock): they come again with the next reply */
  deferred?: string;
}

/** The decisions of a push reply, as signed texts; anything else in the field is left out. */
export function signedDecisionsOf(v: unknown): SignedDecision[] {
  if (!Array.isArray(v)) return [];
  const out: SignedDecision[] = [];
  for (const d of v.slice(0, MAX_DECISIONS_PER_REPLY * 2)) {
    if (typeof d === "object" && d !== null && typeof (d as SignedDecision).text === "string" && typeof (d as SignedDecision).signature === "string" && (d as SignedDecision).text.length <= MAX_TEXT) {
      out.push({ text: (d as SignedDecision).text, signature: (d as SignedDecision).signature });
    }
  }
  return out;
}

/** The decision, when the hub's key signed it for this host and it reads as one; else why not. */
export function checkDecision(signed: SignedDecision, host: string, hubKey: Enrolment["hubKey"]): HubDecision | { rejected: string } {
  if (!hubKey) return { rejected: "this host keeps no hub key (enrolled before hubs signed): enroll again to take decisions from the hub" };
  const sig = Buffer.from(signed.signature, "base64");
  let holds = false;
  try {
    holds = sig.length === 64 && verify(null, decisionStatement(host, signed.text), publicKeyFromRaw(Buffer.from(hubKey.publicKey, "base64")), sig);
  } catch {
    holds = false;
  }
  if (!holds) return { rejected: "its signature is not the hub's (the key kept at enrolment) over a decision for this host" };
  let d: HubDecision;
  try {
    d = JSON.parse(signed.text) as HubDecision;
  } catch {
    return { rejected: "it is not JSON" };
  }
  if (typeof d !== "object" || d === null || d.host !== host) return { rejected: "it names another host" };
  if (typeof d.id !== "string" || !/^[1-9][0-9]{0,17}-[0-9a-f]{16}$/.test(d.id)) return { rejected: "it has no decision id" };
  if (typeof d.by !== "string" || typeof d.reason !== "string" || typeof d.at !== "string" || typeof d.control !== "string" || !CONTROL_ID.test(d.control)) return { rejected: `decision ${d.id} lacks who, why, when or which control` };
  return d;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? "?"}`;
  }
}

/** Why a waiver cannot be taken as given, or undefined. */
function waiverProblem(d: HubDecision): string | undefined {
  if (typeof d.until !== "string" || !DAY.test(d.until)) return "the waiver has no end date";
  if (d.from !== undefined && (typeof d.from !== "string" || !DAY.test(d.from) || d.from > d.until)) return "the waiver's start date is not a date before its end";
  return undefined;
}

/** Applies one decision the hub signed for this host: its one record, once. */
function applyOne(store: StateStore, d: HubDecision, hub: string, now: Date, out: DecisionsApplied): void {
  const at = now.toISOString();
  const by = `${d.by.slice(0, 100)} (hub)`;
  let why: string | undefined;
  const refusal = (reason: string) => ({ decision: d.id, kind: String(d.kind).slice(0, 40), control: d.control, refused: reason, by, at, hub });
  const done = store.applyHubDecision(d.id, (w) => {
    why = undefined;
    if (d.kind === "ack") {
      if (typeof d.deficiency !== "string") return w.refuse(refusal((why = "the acknowledgement names no deficiency")));
      try {
        return w.acknowledge(d.deficiency, { at, reason: d.reason.slice(0, 1000), by, user: osUser(), loginUid: null, decision: d.id });
      } catch (err) {
        if (!(err instanceof DeficiencyError)) throw err;
        return w.refuse(refusal((why = err.message)));
      }
    }
    if (d.kind === "waiver") {
      const problem = waiverProblem(d);
      if (problem) return w.refuse(refusal((why = problem)));
      return w.waiver({ decision: d.id, control: d.control, reason: d.reason.slice(0, 1000), approvedBy: by, ...(d.from !== undefined ? { from: d.from } : {}), until: d.until!, givenAt: d.at, at, hub });
    }
    return w.refuse(refusal((why = `this host does not apply decisions of the kind ${String(d.kind).slice(0, 40)}`)));
  });
  if (done.already) out.already.push(d.id);
  else if (why !== undefined) out.refused.push({ id: d.id, kind: d.kind, record: done.seq, why });
  else out.applied.push({ id: d.id, kind: d.kind, record: done.seq });
}

/** Checks and applies the decisions push replies carried, each once, in the hub's order. */
export function applyDecisions(store: StateStore, enrolment: Enrolment, signed: readonly SignedDecision[], now: () => Date = () => new Date()): DecisionsApplied {
  const out: DecisionsApplied = { applied: [], refused: [], already: [], rejected: [] };
  const seen = new Set<string>();
  for (const s of signed) {
    const d = checkDecision(s, enrolment.host, enrolment.hubKey);
    if ("rejected" in d) {
      out.rejected.push(d.rejected);
      continue;
    }
    // an integrity approval observes the host first (an evaluation): the command line applies it (cli/hub-integrity.ts)
    if (seen.has(d.id) || d.kind === "integrity-approval") continue;
    seen.add(d.id);
    applyOne(store, d, enrolment.hubKey!.fingerprint, now(), out);
  }
  return out;
}
