// The names a hub's certificate is for: DNS names and IP addresses, checked before anything is
// made, so a typo is said at once rather than found as a failed connection on every host.
import { isIP } from "node:net";
import { hostname } from "node:os";
import { HubTlsError } from "./tls-files.js";

export interface HubNames {
  dns: string[];
  ip: string[];
}

/** A DNS name of labels of letters, digits and inner hyphens, optionally one leading `*.` label. */
const DNS_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The names `hub init` uses when none is given: this machine's name, and the loopback ones. */
export function defaultHubNames(): string[] {
  const own = hostname().toLowerCase();
  return [...(DNS_NAME.test(own) && own.length <= 253 ? [own] : []), "localhost", "127.0.0.1", "::1"];
}

/** The names sorted into DNS names and IP addresses, lower-cased and without repeats; a bad one is a HubTlsError. */
export function hubNames(names: readonly string[]): HubNames {
  if (names.length === 0) throw new HubTlsError("a hub certificate needs at least one name (a DNS name or an IP address hosts reach it at)");
  const dns: string[] = [];
  const ip: string[] = [];
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if (isIP(name) !== 0) {
      if (!ip.includes(name)) ip.push(name);
      continue;
    }
    if (name.length > 253 || !DNS_NAME.test(name)) throw new HubTlsError(`\`${raw}\` is neither a DNS name (letters, digits, hyphens and dots, such as hub.example.com) nor an IP address`);
    if (!dns.includes(name)) dns.push(name);
  }
  return { dns, ip };
}
