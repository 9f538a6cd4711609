// Decoding the hex addresses and ports of /proc/net/tcp{,6}. The kernel prints each 32-bit
// word of an address as the host sees it in memory, so on little-endian hosts the bytes of
// every word come out reversed; ports are printed in network order.
//
// These string decoders are the readable reference. tcp.ts decodes the same fields straight
// from the table's bytes for speed; a property test holds the two together.
import { endianness } from "node:os";
import { net } from "../native/builtins-on-use.js";

const littleEndian = endianness() === "LE";

function wordBytes(hex: string, little: boolean): number[] | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  const bytes = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return little ? bytes.reverse() : bytes;
}

/** `0100007F` → `127.0.0.1` (on a little-endian host). */
export function decodeIpv4Hex(hex: string, little = littleEndian): string | undefined {
  const b = wordBytes(hex, little);
  return b && b.join(".");
}

/** 32 hex digits → RFC 5952 text (`::1`, `fe80::1`, `::ffff:10.0.0.1`). */
export function decodeIpv6Hex(hex: string, little = littleEndian): string | undefined {
  if (hex.length !== 32) return undefined;
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const b = wordBytes(hex.slice(w * 8, w * 8 + 8), little);
    if (!b) return undefined;
    bytes.push(...b);
  }
  return formatIpv6(bytes);
}

/** RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
export function formatIpv6(bytes: number[]): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${bytes.slice(12).join(".")}`;
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** `1F90` → 8080. */
export function decodePortHex(hex: string): number | undefined {
  return /^[0-9A-Fa-f]{4}$/.test(hex) ? parseInt(hex, 16) : undefined;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address, else the address itself. */
export function unmapped(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/**
 * An address as a user writes it, in the form the probes report it (RFC 5952 for IPv6, an
 * IPv4-mapped address as its IPv4 address), or undefined when it is not an IP address.
 */
export function normaliseAddress(text: string): string | undefined {
  const version = net().isIP(text);
  if (version === 4) return text;
  if (version !== 6) return undefined;
  const host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return host;
}

/** Inverse of the decoders, for tests and fixtures. */
export function encodeIpv4Hex(address: string, little = littleEndian): string {
  const b = address.split(".").map(Number);
  return (little ? b.reverse() : b).map((x) => x.toString(16).padStart(2, "0").toUpperCase()).join("");
}

export function encodeIpv6Hex(bytes: number[], little = littleEndian): string {
  let out = "";
  for (let w = 0; w < 4; w++) {
    const word = bytes.slice(w * 4, w * 4 + 4);
    out += (little ? word.reverse() : word).map((x) => x.toString(16).padStart(2, "0").toUpperCase()).join("");
  }
  return out;
}
