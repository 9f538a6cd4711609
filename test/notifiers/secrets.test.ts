// The redactor every channel passes its words through (src/notifiers/secrets.ts): a secret, and
// its base64 form, never survive it, wherever they stand in a text.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { redactor } from "../../src/notifiers/secrets.js";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

describe("redactor", () => {
  it("blots each secret and its base64 form, and leaves other text as it was", () => {
    const redact = redactor(["s3cret-Pa55", "covenant:s3cret-Pa55"]);
    expect(redact(`AUTH LOGIN ${b64("s3cret-Pa55")} then s3cret-Pa55`)).toBe("AUTH LOGIN [redacted] then [redacted]");
    // HTTP Basic: the base64 of user:password, given as a secret of its own
    expect(redact(`Authorization: Basic ${b64("covenant:s3cret-Pa55")}`)).toBe("Authorization: Basic [redacted]");
    expect(redact("nothing secret here")).toBe("nothing secret here");
  });

  it("blots a secret that holds another whole, not in pieces", () => {
    expect(redactor(["abc", "xxabcxx"])("1 xxabcxx 2 abc")).toBe("1 [redacted] 2 [redacted]");
  });

  it("ignores an empty secret and makes no change with none", () => {
    expect(redactor([""])("text")).toBe("text");
    expect(redactor([])("text")).toBe("text");
  });

  it("no secret nor its base64 survives, whatever surrounds it (property)", () => {
    // secrets of capitals and digits share no character with "[redacted]", so a blot cannot make one anew
    const secret = fc.stringMatching(/^[A-Z0-9]{8,24}$/);
    fc.assert(
      fc.property(secret, fc.array(fc.string(), { minLength: 1, maxLength: 4 }), fc.boolean(), (s, pieces, encoded) => {
        const text = pieces.join(encoded ? b64(s) : s);
        const out = redactor([s])(text);
        return !out.includes(s) && !out.includes(b64(s));
      }),
    );
  });
});
