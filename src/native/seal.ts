// The HMAC-SHA256 of the store's seals: OpenSSL's one-shot HMAC through the optional addon
// (native/seal.c), else node:crypto's Hmac. The two give the same bytes; the addon saves the
// few microseconds of JavaScript each Hmac costs in a short-lived process (about 6,600 seals a
// run of 2,000 promises, bench/run).
import { createHmac } from "node:crypto";
import { requireAddon } from "./addon.js";

interface SealAddon {
  hmacSha256(key: Buffer, text: string): Buffer;
}

let addon: SealAddon | null | undefined;

function sealAddon(): SealAddon | null {
  if (addon !== undefined) return addon;
  const found = requireAddon<SealAddon>("seal.node", import.meta.url);
  return (addon = "addon" in found ? found.addon : null);
}

/** node:crypto's HMAC-SHA256 of `text` (UTF-8) under `key`: what the addon must equal. */
export function hmacSha256ByNode(key: Buffer, text: string): Buffer {
  return createHmac("sha256", key).update(text).digest();
}

/** The HMAC-SHA256 of `text` (UTF-8) under `key`. */
export function hmacSha256(key: Buffer, text: string): Buffer {
  const native = sealAddon();
  return native ? native.hmacSha256(key, text) : hmacSha256ByNode(key, text);
}

/** Whether the addon makes the seals (tests). */
export function nativeSeals(): boolean {
  return sealAddon() !== null;
}
