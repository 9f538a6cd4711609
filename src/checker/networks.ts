// Addresses and networks as policies write them: IPv4 or IPv6, with an optional prefix length.
import { isIP } from "node:net";

/** Why `raw` is not an IPv4/IPv6 address or network, or undefined when it is one. */
export function cidrProblem(raw: string): string | undefined {
  const slash = raw.indexOf("/");
  const addr = slash === -1 ? raw : raw.slice(0, slash);
  const version = isIP(addr);
  if (version === 0) return /^\d+(\.\d+){3}$/.test(addr) ? "each part of an IPv4 address is 0 to 255" : "not an IPv4 or IPv6 address";
  if (slash === -1) return undefined;
  const prefixText = raw.slice(slash + 1);
  const max = version === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return `the prefix length must be 0 to ${max}`;
  return undefined;
}
