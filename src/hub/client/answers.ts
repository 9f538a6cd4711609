// The hub's answers read strictly: a field missing or of another type is not an answer the host
// acts on. Text the hub sends is kept short here and escaped by whoever prints it.
import { fingerprintOf, publicKeyFromRaw } from "../../store/signing-key.js";
import { signedDecisionsOf } from "./decisions.js";
import { HEX64, isHostId, type EnrollAccepted, type PushAccepted, type PushRefused } from "../protocol.js";

/** The most characters of the hub's own words kept for a message. */
const MAX_WORDS = 500;

function point(v: unknown): { seq: number; chain: string } | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const p = v as Record<string, unknown>;
  return Number.isSafeInteger(p["seq"]) && (p["seq"] as number) >= 0 && typeof p["chain"] === "string" && HEX64.test(p["chain"]) ? { seq: p["seq"] as number, chain: p["chain"] } : undefined;
}

export function acceptedOf(v: unknown): Pick<PushAccepted, "holds" | "stored" | "clockSkewMs" | "decisions"> | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const a = v as Record<string, unknown>;
  const holds = point(a["holds"]);
  if (a["status"] !== "accepted" || !holds || !Number.isSafeInteger(a["stored"]) || typeof a["clockSkewMs"] !== "number" || !Number.isFinite(a["clockSkewMs"])) return undefined;
  // the decisions are only carried here: each is checked against the hub's key before anything is done with it (decisions.ts)
  const decisions = signedDecisionsOf(a["decisions"]);
  return { holds, stored: a["stored"] as number, clockSkewMs: a["clockSkewMs"], ...(decisions.length ? { decisions } : {}) };
}

/** A refusal; `reason` kept as the hub wrote it (a later hub may give one this host does not know). */
export function refusedOf(v: unknown): (Pick<PushRefused, "message" | "holds"> & { reason: string }) | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (r["status"] !== "refused" || typeof r["reason"] !== "string" || typeof r["message"] !== "string") return undefined;
  const holds = r["holds"] === null ? null : point(r["holds"]);
  if (holds === undefined) return undefined;
  return { reason: r["reason"].slice(0, 40), message: r["message"].slice(0, MAX_WORDS), holds };
}

export function enrolledOf(v: unknown): EnrollAccepted | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const a = v as Record<string, unknown>;
  if (a["status"] !== "enrolled" || !isHostId(a["host"]) || typeof a["name"] !== "string" || typeof a["fingerprint"] !== "string") return undefined;
  const accepted: EnrollAccepted = { status: "enrolled", host: a["host"], name: a["name"].slice(0, 200), fingerprint: a["fingerprint"].slice(0, 100) };
  // the hub's own key (what signs the policy versions a host fetches): kept only when it is one, named by its own fingerprint
  const k = a["hubKey"] as Record<string, unknown> | undefined;
  if (k !== undefined) {
    if (typeof k !== "object" || k === null || typeof k["publicKey"] !== "string" || typeof k["fingerprint"] !== "string") return undefined;
    const raw = Buffer.from(k["publicKey"], "base64");
    if (raw.length !== 32 || k["fingerprint"] !== fingerprintOf(publicKeyFromRaw(raw))) return undefined;
    accepted.hubKey = { publicKey: k["publicKey"], fingerprint: k["fingerprint"] };
  }
  return accepted;
}

/** What the hub said in an answer that is not the protocol's success: its `message` or `error`, or the start of its text. */
export function hubSays(answer: { body: unknown; text: string }): string {
  const b = answer.body as Record<string, unknown> | undefined;
  const words = typeof b === "object" && b !== null ? (typeof b["message"] === "string" ? b["message"] : typeof b["error"] === "string" ? b["error"] : undefined) : undefined;
  return (words ?? answer.text).trim().slice(0, MAX_WORDS);
}
