import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hmacSha256, hmacSha256ByNode, nativeSeals } from "../../src/native/seal.ts";

describe("seal: HMAC-SHA256 through the addon (native/seal.c)", () => {
  it("is built here, so that what follows tests it and not node:crypto against itself", () => {
    expect(nativeSeals()).toBe(true);
  });

  it("equals node:crypto's HMAC for any key and text: unpaired surrogates, NULs, text longer than the 2 KiB copied on the stack", () => {
    // unit "binary": any UTF-16 code unit, lone surrogates included (both encode them as U+FFFD)
    const text = fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), fc.string({ unit: "grapheme", minLength: 600, maxLength: 1500 }), fc.string({ unit: "binary", minLength: 2040, maxLength: 2060 }));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), text, (key, t) => {
        const k = Buffer.from(key);
        expect(hmacSha256(k, t).equals(hmacSha256ByNode(k, t))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("gives RFC 4231's test case 2", () => {
    expect(hmacSha256(Buffer.from("Jefe"), "what do ya want for nothing?").toString("hex")).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("refuses what is not a key and a text, rather than sealing something else", () => {
    const key = randomBytes(32);
    const addonCall = hmacSha256 as unknown as (k: unknown, t: unknown) => Buffer;
    expect(() => addonCall("not a buffer", "x")).toThrow(/key must be a Buffer/);
    expect(() => addonCall(key, 42)).toThrow(/text must be a string/);
    expect(() => addonCall(Buffer.alloc(2048), "x")).toThrow(/at most 1024 bytes/);
  });
});
