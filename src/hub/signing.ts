// The hub's own Ed25519 key: it signs the policy versions hosts fetch (and, later, fleet evidence).
// Every hub process serving one database must hold the same key: it is a file (hub.yaml
// `signingKey`), made at first use with the rules a host's signing key is made with (whole, never
// through a link, 0600, refused as root when another user could have written or read it).
import { fingerprintOf, generateSigningKey, rawPublicKey, readSigningKey, storeSigningKey, type SigningKey } from "../store/signing-key.js";

export interface HubKey extends SigningKey {
  /** the raw public key, base64: what a host keeps to check what the hub signs */
  publicRaw: string;
}

export function hubSigningKey(path: string, create = true): HubKey {
  let key = readSigningKey(path, false);
  if (!key) {
    if (!create) throw new Error(`the hub's signing key ${path} does not exist`);
    storeSigningKey(path, generateSigningKey());
    key = readSigningKey(path, false)!;
  }
  return { ...key, publicRaw: rawPublicKey(key.publicKey).toString("base64") };
}

export { fingerprintOf };
