// A host fetching the policy version in force for it (`covenant run --from-hub`): a request signed
// like a push (so the hub knows which host asks, and a revoked host gets nothing), answered with
// the signed version, or "unchanged" when the host already runs that content, or "none".
import type { Pool } from "pg";
import { PROTOCOL, PROTOCOL_VERSION } from "../protocol.js";
import { policyForHost, type SignedPolicy } from "../policy/versions.js";
import { authenticateHost, type KnownHost } from "./host-auth.js";
import { error, type ErrorBody, type Reply } from "./reply.js";

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

export async function takePolicyFetch(pool: Pool, raw: Buffer, hostHeader: string | undefined, signature: string | undefined, known?: KnownHost): Promise<Reply<PolicyAnswer | ErrorBody>> {
  const sender = await authenticateHost(pool, raw, { host: hostHeader, signature }, "policy", known);
  if ("status" in sender) return sender;
  let body: Partial<PolicyFetchBody>;
  try {
    body = JSON.parse(raw.toString("utf8")) as Partial<PolicyFetchBody>;
  } catch {
    return error(400, "the body is not JSON");
  }
  if (body.protocol !== PROTOCOL || body.version !== PROTOCOL_VERSION || body.kind !== "policy" || body.host !== sender.host.id || (body.have !== null && typeof body.have !== "string")) return error(400, "malformed policy request");
  const signed = await policyForHost(pool, sender.host.id);
  if (!signed) return { status: 200, body: { status: "none" } };
  const statement = JSON.parse(signed.statement) as { id: number; content: string };
  if (body.have === statement.content) return { status: 200, body: { status: "unchanged", content: statement.content } };
  return { status: 200, body: { status: "policy", id: statement.id, content: statement.content, policy: signed } };
}
