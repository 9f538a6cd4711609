import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normaliseAddress, decodeIpv4Hex, decodeIpv6Hex, decodePortHex, encodeIpv4Hex, encodeIpv6Hex, formatIpv6, unmapped } from "../../src/probes/net-address.ts";

const byte = fc.integer({ min: 0, max: 255 });

describe("address decoders", () => {
  it("decodes the kernel's little-endian IPv4 words", () => {
    expect(decodeIpv4Hex("0100007F", true)).toBe("127.0.0.1");
    expect(decodeIpv4Hex("0114140A", true)).toBe("10.20.20.1");
    expect(decodeIpv4Hex("7F000001", false)).toBe("127.0.0.1");
    expect(decodeIpv4Hex("0100007", true)).toBeUndefined();
    expect(decodeIpv4Hex("0100007G", true)).toBeUndefined();
  });

  it("decodes IPv6 words, IPv4-mapped and link-local addresses", () => {
    expect(decodeIpv6Hex("00000000000000000000000001000000", true)).toBe("::1");
    expect(decodeIpv6Hex("0000000000000000FFFF00000100007F", true)).toBe("::ffff:127.0.0.1");
    expect(decodeIpv6Hex("000080FE00000000FF005002010000FE", true)).toBe("fe80::250:ff:fe00:1");
    expect(decodeIpv6Hex("00000000000000000000000000000000", true)).toBe("::");
    expect(decodeIpv6Hex("0000000000000000000000000100", true)).toBeUndefined();
  });

  it("decodes ports in network order", () => {
    expect(decodePortHex("1538")).toBe(5432);
    expect(decodePortHex("0000")).toBe(0);
    expect(decodePortHex("FFFF")).toBe(65535);
    expect(decodePortHex("ZZZZ")).toBeUndefined();
  });

  it("round-trips any IPv4 address on either byte order", () => {
    fc.assert(
      fc.property(fc.tuple(byte, byte, byte, byte), fc.boolean(), (b, little) => {
        const address = b.join(".");
        expect(decodeIpv4Hex(encodeIpv4Hex(address, little), little)).toBe(address);
      }),
    );
  });

  it("formats any IPv6 address as the WHATWG URL serializer does (RFC 5952 compression)", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(byte, fc.constant(0), fc.constant(0)), { minLength: 16, maxLength: 16 }), fc.boolean(), (bytes, little) => {
        const text = decodeIpv6Hex(encodeIpv6Hex(bytes, little), little)!;
        const isMapped = bytes.slice(0, 10).every((x) => x === 0) && bytes[10] === 255 && bytes[11] === 255;
        if (isMapped) expect(text).toBe(`::ffff:${bytes.slice(12).join(".")}`);
        else expect(text).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
        // and it denotes the same 16 bytes
        expect(new URL(`http://[${text}]/`).hostname).toBe(new URL(`http://[${formatIpv6(bytes)}]/`).hostname);
      }),
      { numRuns: 3000 },
    );
  });

  it("normalises addresses as users write them", () => {
    expect(normaliseAddress("2001:DB8:0:0::1")).toBe("2001:db8::1");
    expect(normaliseAddress("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(normaliseAddress("10.0.0.1")).toBe("10.0.0.1");
    expect(normaliseAddress("nonsense")).toBeUndefined();
    expect(normaliseAddress("10.0.0.256")).toBeUndefined();
  });

  it("unmaps IPv4-mapped addresses only", () => {
    expect(unmapped("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(unmapped("::ffff:a00:1")).toBe("::ffff:a00:1");
    expect(unmapped("fe80::1")).toBe("fe80::1");
  });
});
