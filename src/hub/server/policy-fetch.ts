// A host fetching the policy version in force for it (`covenant run --from-hub`): a request signed
// like a push (so the hub knows which host asks, and a revoked host gets nothing), answered with
// the signed version, or "unchanged" when the host already runs that content, or "none".
import type { Pool } from "pg";
import { isHostId, PROTOCOL, PROTOCOL_VERSION, signatureHolds } from "../protocol.js";
import { policyForHost, type SignedPolicy } from "../policy/versions.js";
import { hostKey, type ErrorBody, type Reply } from "./push.js";

export interface PolicyFetchBody {
  protocol: typeof PROTOCOL;
  version: typeof PROTOCOL_VERSION;
  kind: "policy";
  host: string;
  sentAt: string;
  /** the content key of the version the host runs now, if it runs one from the hub */
  have: string | null;
}

export type PolicyAnswer = { status: "policy"; id: number; content: string; policy: SignedPolicy } | { status: "unchanged"; content: string } | { status: "none" };

function error(status: number, message: string): Reply<ErrorBody> {
  return { status, body: { status: "error", message } };
}

export async function takePolicyFetch(pool: Pool, raw: Buffer, hostHeader: string | undefined, signature: string | undefined): Promise<Reply<PolicyAnswer | ErrorBody>> {
  if (!isHostId(hostHeader)) return error(401, "the request names no enrolled host (covenant-host)");
  const host = (await pool.query<{ public_key: Buffer; revoked_at: Date | null }>("SELECT public_key, revoked_at FROM hub_hosts WHERE id = $1", [hostHeader])).rows[0];
  if (!host) return error(401, "this host is not enrolled with the hub");
  if (!signatureHolds(raw, signature, hostKey(host.public_key))) return error(401, "the request's signature does not hold for this host's key");
  if (host.revoked_at) return error(403, "this host's enrolment was revoked: the hub gives it nothing");
  let body: Partial<PolicyFetchBody>;
  try {
    body = JSON.parse(raw.toString("utf8")) as Partial<PolicyFetchBody>;
  } catch {
    return error(400, "the body is not JSON");
  }
  if (body.protocol !== PROTOCOL || body.version !== PROTOCOL_VERSION || body.kind !== "policy" || body.host !== hostHeader || (body.have !== null && typeof body.have !== "string")) return error(400, "malformed policy request");
  const signed = await policyForHost(pool, hostHeader);
  if (!signed) return { status: 200, body: { status: "none" } };
  const statement = JSON.parse(signed.statement) as { id: number; content: string };
  if (body.have === statement.content) return { status: 200, body: { status: "unchanged", content: statement.content } };
  return { status: 200, body: { status: "policy", id: statement.id, content: statement.content, policy: signed } };
}
