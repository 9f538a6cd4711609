// The diff against an approved copy never shows in its old side what the masker would hide now:
// a copy approved before a pattern caught a line (a policy's `mask` added since, or a CRLF line's
// value, which the built-in patterns missed before 79228cc) holds it in clear in the store.
import fc from "fast-check";
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { approvedCopyOf, diffAgainstCopy, remaskedCopy } from "../../src/integrity/approved-copy.ts";
import { DEFAULT_SECRET_PATTERNS, linearPattern, MASK } from "../../src/integrity/mask.ts";

const keyLine = (line: string) => createHmac("sha256", "test key").update(line).digest("hex");

describe("diff against an approved copy", () => {
  it("masks a line of the copy kept in clear when it was approved, as the new side is masked", () => {
    // as a CRLF file's copy was stored before the fix: the secret in clear, no digest for it
    const stale = { text: "limit = 10\r\ndb_password = hunter2\r\n", secrets: {} };
    const changed = diffAgainstCopy(stale, "limit = 20\r\ndb_password = hunter2\r\n", keyLine);
    expect(changed.kind).toBe("diff");
    const text = changed.kind === "diff" ? changed.text : "";
    expect(text).not.toContain("hunter2");
    expect(text).toContain("-limit = 10");
    // the secret unchanged: its line is no part of the change
    expect(changed.kind === "diff" && [changed.added, changed.removed]).toEqual([1, 1]);
    // the secret changed: both sides masked, and the change seen
    const rotated = diffAgainstCopy(stale, "limit = 10\r\ndb_password = s3cret\r\n", keyLine);
    expect(rotated.kind === "diff" && rotated.text).toContain(`-db_password = ${MASK}`);
    expect(rotated.kind === "diff" && rotated.text).not.toMatch(/hunter2|s3cret/);
  });

  it("masks what a policy's mask added since the approval hides, on the old side too", () => {
    const patterns = [...DEFAULT_SECRET_PATTERNS, linearPattern("id-(?P<secret>[0-9]+)")];
    const before = approvedCopyOf("owner id-1234\nlimit = 1\n", keyLine);
    expect(before.ok && before.copy.text).toContain("id-1234"); // approved with the built-in patterns only
    const d = diffAgainstCopy(before.ok ? before.copy : { text: "", secrets: {} }, "owner id-1234\nlimit = 2\n", keyLine, { secretPatterns: patterns });
    expect(d.kind === "diff" && d.text).not.toContain("1234");
    expect(d.kind === "diff" && [d.added, d.removed]).toEqual([1, 1]);
  });

  it("is `same` for a copy approved now and content alike, masked lines by their digests", () => {
    const content = "a = 1\ndb_password = hunter2\n";
    const approved = approvedCopyOf(content, keyLine);
    expect(approved.ok && approved.copy.text).not.toContain("hunter2");
    expect(diffAgainstCopy(approved.ok ? approved.copy : { text: "", secrets: {} }, content, keyLine)).toEqual({ kind: "same" });
  });

  it("shows a line masked in the store by the built-in patterns as a policy's mask hides it now: unchanged, and nothing the mask hides", () => {
    const patterns = [...DEFAULT_SECRET_PATTERNS, linearPattern("LGR-[0-9]+")];
    // a CRLF copy an older Covenant kept in clear, and the same copy as the store masks it (approved-remask.ts)
    const older = { text: "a = 1\r\napp-LGR-0123 db_password = p1\r\nb = 2\r\n", secrets: {} };
    const remasked = remaskedCopy(older, keyLine)!.copy;
    expect(remasked.text).toContain("app-LGR-0123 db_password = ****");
    for (const content of ["a = 2\r\napp-LGR-0123 db_password = p1\r\nb = 2\r\n", "a = 1\r\napp-LGR-0123 db_password = p2\r\nb = 2\r\n"]) {
      const d = diffAgainstCopy(remasked, content, keyLine, { secretPatterns: patterns });
      expect(d).toEqual(diffAgainstCopy(older, content, keyLine, { secretPatterns: patterns }));
      expect(d.kind === "diff" && d.text).not.toContain("0123");
    }
  });

  it("is the same against a copy the store masked again as against the copy as it was, line for line", () => {
    const vocabulary = ["a = 1", "password = p1", "password = p2", "token: t1", "LGR-42 secret = s", "app LGR-7", "-----BEGIN RSA PRIVATE KEY-----", "MIIabc", "-----END RSA PRIVATE KEY-----", "url = https://u:pw@h", ""];
    const text = fc.tuple(fc.array(fc.tuple(fc.constantFrom(...vocabulary), fc.constantFrom("\n", "\r\n")), { maxLength: 10 }), fc.boolean()).map(([lines, cut]) => {
      const t = lines.map(([l, end]) => l + end).join("");
      return cut ? t.replace(/\r?\n$/, "") : t;
    });
    for (const patterns of [DEFAULT_SECRET_PATTERNS, [...DEFAULT_SECRET_PATTERNS, linearPattern("LGR-[0-9]+")]]) {
      fc.assert(
        fc.property(text, text, (approved, now) => {
          const older = { text: approved, secrets: {} };
          const again = remaskedCopy(older, keyLine)?.copy ?? older;
          expect(diffAgainstCopy(again, now, keyLine, { secretPatterns: patterns })).toEqual(diffAgainstCopy(older, now, keyLine, { secretPatterns: patterns }));
        }),
        { numRuns: 1000 },
      );
    }
  });
});
