// The diff against an approved copy never shows in its old side what the masker would hide now:
// a copy approved before a pattern caught a line (a policy's `mask` added since, or a CRLF line's
// value, which the built-in patterns missed before 79228cc) holds it in clear in the store.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { approvedCopyOf, diffAgainstCopy } from "../../src/integrity/approved-copy.ts";
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
});
