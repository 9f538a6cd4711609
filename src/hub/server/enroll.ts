// Enrolment: a host proves it holds the private half of the key it registers (the request is
// signed with it) and presents a one-time token an administrator made (`covenant hub token`).
// The hub keeps only the token's sha256, takes it once, before it expires, and gives the host an
// id of its own making; the token's group becomes the host's.
import { createHash, randomUUID } from "node:crypto";
import type { Pool } from "pg";
import { fingerprintOf } from "../../store/signing-key.js";
import { hubChainStart, PROTOCOL, PROTOCOL_VERSION, signatureHolds, type EnrollAccepted, type EnrollBody } from "../protocol.js";
import { audit } from "./audit.js";
import { hostKey } from "./host-auth.js";
import { error, type ErrorBody, type Reply } from "./reply.js";

export const MAX_ENROLL_BYTES = 64 * 1024;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

export function tokenHash(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

function enrollShapeProblem(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "the body is not a JSON object";
  const b = v as Record<string, unknown>;
  if (b["protocol"] !== PROTOCOL || b["version"] !== PROTOCOL_VERSION || b["kind"] !== "enroll") return `not a ${PROTOCOL} v${PROTOCOL_VERSION} enrolment`;
  if (typeof b["token"] !== "string" || b["token"].length < 16 || b["token"].length > 200) return "token is not an enrolment token";
  if (typeof b["name"] !== "string" || !NAME.test(b["name"])) return "name must be a host name (letters, digits, '.', '_', '-'; at most 253)";
  if (typeof b["publicKey"] !== "string" || Buffer.from(b["publicKey"], "base64").length !== 32) return "publicKey is not a raw Ed25519 public key in base64";
  if (typeof b["sentAt"] !== "string" || Number.isNaN(Date.parse(b["sentAt"]))) return "sentAt is not a time";
  return undefined;
}

/** The hub's answer to an enrolment request. */
export async function takeEnrollment(pool: Pool, raw: Buffer, signature: string | undefined, hubKey?: { publicKey: string; fingerprint: string }, now: Date = new Date()): Promise<Reply<EnrollAccepted | ErrorBody>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    return error(400, "the body is not JSON");
  }
  const problem = enrollShapeProblem(parsed);
  if (problem) return error(400, `malformed enrolment: ${problem}`);
  const body = parsed as EnrollBody;
  const raw32 = Buffer.from(body.publicKey, "base64");
  const key = hostKey(raw32);
  if (!signatureHolds(raw, signature, key)) return error(401, "the enrolment is not signed by the key it registers");
  const fingerprint = fingerprintOf(key);
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const token = (await client.query<{ expires_at: Date; used_at: Date | null; host_group: string | null }>("SELECT expires_at, used_at, host_group FROM hub_enroll_tokens WHERE token_hash = $1 FOR UPDATE", [tokenHash(body.token)])).rows[0];
    const refusal = !token ? "the enrolment token is not one this hub made" : token.used_at ? "the enrolment token was used already" : token.expires_at.getTime() <= now.getTime() ? "the enrolment token has expired" : undefined;
    if (refusal) {
      await client.query("ROLLBACK");
      return error(401, refusal);
    }
    const id = randomUUID();
    // ON CONFLICT rather than a look first: the same key enrolling with two tokens at once must
    // meet the other's row (and wait for it), not a unique violation answered 500
    const inserted = await client.query(
      "INSERT INTO hub_hosts (id, name, public_key, fingerprint, host_group, last_chain, enrolled_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (fingerprint) DO NOTHING",
      [id, body.name, raw32, fingerprint, token!.host_group, hubChainStart(id), now],
    );
    if (!inserted.rowCount) {
      const taken = (await client.query<{ id: string; name: string }>("SELECT id, name FROM hub_hosts WHERE fingerprint = $1", [fingerprint])).rows[0];
      await client.query("ROLLBACK");
      return error(409, `this key is enrolled already, as host ${taken?.name ?? "?"} (${taken?.id ?? "?"})`);
    }
    await client.query("UPDATE hub_enroll_tokens SET used_at = $2, used_by = $3 WHERE token_hash = $1", [tokenHash(body.token), now, id]);
    await audit(client, `host:${id}`, "enroll", `host:${id}`, { name: body.name, fingerprint, group: token!.host_group });
    await client.query("COMMIT");
    return { status: 201, body: { status: "enrolled", host: id, name: body.name, fingerprint, ...(hubKey ? { hubKey } : {}) } };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    // the same key enrolled at the same moment with another token: the other request took it
    if ((err as { code?: unknown }).code === "23505" && (err as { constraint?: unknown }).constraint === "hub_hosts_fingerprint_key") return error(409, "this key is enrolled already (by a request that ran at the same time)");
    throw err;
  } finally {
    client.release();
  }
}
