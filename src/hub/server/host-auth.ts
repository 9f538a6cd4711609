// Who sends a host's request (a push, a policy fetch): the host its covenant-host header names,
// if that host is enrolled and the covenant-signature over the body's exact bytes holds for its
// key. Two steps, so that nothing is read for nobody:
//  - hostNamed, before the body is read (app.ts runs it as the route's onRequest hook): an id
//    that is no enrolled host, or a revoked one, is refused there, and the hub neither buffers
//    nor hashes megabytes sent in the name of a host that does not exist;
//  - authenticateHost, on the body's bytes: the signature first, before any of it is parsed.
//    For a push only, a body not signed by the key the hub knows may be signed by a key the host
//    rotated to: then the covenant-key header names that key, which must sign the body, and a
//    rotation record in the body, chained from the key the hub knows, must hand over to it.
import { createPublicKey, type KeyObject } from "node:crypto";
import type { Pool } from "pg";
import { isHostId, signatureHolds } from "../protocol.js";
import { rotationIn, type RotationChain } from "./key-rotation.js";
import { error, type ErrorBody, type Reply } from "./reply.js";

/** An enrolled host as its request's authentication needs it. */
export interface KnownHost {
  id: string;
  publicKey: Buffer;
  fingerprint: string;
  revoked: boolean;
}

/** What the request is, for the words of a refusal. */
export type HostRequest = "push" | "policy";

const WORDS: Record<HostRequest, { signature: string; revoked: string }> = {
  push: { signature: "the push's signature does not hold for this host's key", revoked: "this host's enrolment was revoked: the hub takes nothing from it" },
  policy: { signature: "the request's signature does not hold for this host's key", revoked: "this host's enrolment was revoked: the hub gives it nothing" },
};

const keys = new Map<string, KeyObject>();

/** The public key object for a host's raw key, made once per distinct key. */
export function hostKey(raw: Buffer): KeyObject {
  const id = raw.toString("base64url");
  let key = keys.get(id);
  if (!key) {
    key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: id }, format: "jwk" });
    if (keys.size > 100_000) keys.clear();
    keys.set(id, key);
  }
  return key;
}

/** The public key a push's key header names (base64 of 32 raw bytes), or undefined; not kept in hostKey's cache, which anyone could fill this way. */
function signerKey(header: string | undefined): { raw: Buffer; key: KeyObject } | undefined {
  if (header === undefined || header.length > 64) return undefined;
  const raw = Buffer.from(header, "base64");
  if (raw.length !== 32) return undefined;
  try {
    return { raw, key: createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" }) };
  } catch {
    return undefined;
  }
}

/** The enrolled, unrevoked host the covenant-host header names, or the refusal: all that is known before the body is read. */
export async function hostNamed(pool: Pool, hostHeader: string | undefined, what: HostRequest): Promise<KnownHost | Reply<ErrorBody>> {
  if (!isHostId(hostHeader)) return error(401, "the request names no enrolled host (covenant-host)");
  const found = await pool.query<{ public_key: Buffer; fingerprint: string; revoked_at: Date | null }>({ name: "hub-push-key", text: "SELECT public_key, fingerprint, revoked_at FROM hub_hosts WHERE id = $1", values: [hostHeader] });
  const row = found.rows[0];
  if (!row) return error(401, "this host is not enrolled with the hub");
  if (row.revoked_at) return error(403, WORDS[what].revoked);
  return { id: hostHeader, publicKey: row.public_key, fingerprint: row.fingerprint, revoked: false };
}

export interface HostHeaders {
  host: string | undefined;
  signature: string | undefined;
  /** covenant-key: the key that signed a push, when the hub does not know it yet (a rotation) */
  key?: string | undefined;
}

/** The host that sent the request, and for a push signed by a rotated key the rotation that puts that key in force (`signed`). */
export interface Authenticated {
  host: KnownHost;
  rotation?: RotationChain & { signed: boolean };
}

/**
 * The sender of a request whose body is `raw`, or the refusal. `known` is the host hostNamed found
 * before the body was read (it is looked up again when absent: a caller without the hook).
 */
export async function authenticateHost(pool: Pool, raw: Buffer, headers: HostHeaders, what: HostRequest, known?: KnownHost): Promise<Authenticated | Reply<ErrorBody>> {
  const host = known && known.id === headers.host ? known : await hostNamed(pool, headers.host, what);
  if ("status" in host) return host;
  if (signatureHolds(raw, headers.signature, hostKey(host.publicKey))) {
    // signed with the key the hub knows, yet carrying a rotation (the push read its records as the
    // key was rotated): the record itself proves the handover, and once it is stored no later push
    // carries it, so the new key is taken from it now or never
    const rotation = what === "push" && raw.includes("rotation") ? rotationIn(raw, host.fingerprint) : undefined;
    return rotation ? { host, rotation: { ...rotation, signed: false } } : { host };
  }
  if (what !== "push") return error(401, WORDS[what].signature);
  // signed by a key the host rotated to? Only a rotation record in this push, signed by the key
  // the hub knows and by the new one, can say so (and the push must then be taken: push.ts). The
  // signature is checked first, with the key the push names in its header: a body signed by no
  // one is not parsed (an 8 MiB body of rotation records cost ~0.7 s of the event loop)
  const named = signerKey(headers.key);
  if (!named || !signatureHolds(raw, headers.signature, named.key)) return error(401, WORDS[what].signature);
  const rotation = rotationIn(raw, host.fingerprint);
  if (!rotation || !rotation.raw.equals(named.raw)) return error(401, WORDS[what].signature);
  return { host, rotation: { ...rotation, signed: true } };
}
