import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { editedBytes } from "../../src/evaluator/line-edit.ts";
import { parse, read } from "../../src/probes/lines.ts";

const fixture = "test/fixtures/text/mixed-endings.txt";

describe("lines probe", () => {
  it("splits a file at each newline, keeping a `\\r` and a last line without a newline", () => {
    const r = read(fixture);
    if (!r.ok || "notAFile" in r.value) throw new Error("fixture not read");
    const f = r.value;
    expect(f.lines.map((l) => l.text)).toEqual([
      "# a file with each kind of line ending\r",
      "windows line\r",
      "",
      "unix line",
      "  indented\t tab",
      "non-utf8 \uFFFD\uFFFD byte",
      "last line without newline",
    ]);
    expect(f.endsWithNewline).toBe(false);
    expect(f.lines[6]).toMatchObject({ number: 7, end: f.size });
    expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("says what is there instead of a regular file, and never follows a link", () => {
    const dir = mkdtempSync(join(tmpdir(), "cvt-lines-probe-"));
    mkdirSync(join(dir, "d"));
    symlinkSync("/etc/hostname", join(dir, "link"));
    expect(read(join(dir, "d"))).toMatchObject({ ok: true, value: { notAFile: "a directory" } });
    expect(read(join(dir, "link"))).toMatchObject({ ok: true, value: { notAFile: "a symbolic link (not followed)" } });
    expect(read(join(dir, "none"))).toMatchObject({ ok: false, error: { code: "not-found" } });
    writeFileSync(join(dir, "big"), "x".repeat(100));
    expect(read(join(dir, "big"), 99)).toMatchObject({ ok: false, error: { message: expect.stringContaining("more than max_size (99 bytes)") } });
  });

  it("an empty file has no line and needs no newline closed", () => {
    expect(parse(new Uint8Array())).toEqual({ lines: [], endsWithNewline: true });
    expect(parse(Buffer.from("\n")).lines).toEqual([{ number: 1, start: 0, end: 0, text: "" }]);
  });

  it("never throws, and its lines and newlines are the file again (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const { lines, endsWithNewline } = parse(buf);
        const again = Buffer.concat(lines.map((l, i) => Buffer.concat([buf.subarray(l.start, l.end), i < lines.length - 1 || endsWithNewline ? Buffer.from("\n") : Buffer.alloc(0)])));
        expect(again.equals(buf)).toBe(true);
        for (const l of lines) expect(buf.subarray(l.start, l.end).includes(0x0a)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("an edit keeps every line it does not remove, byte for byte, in order (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(40), { maxLength: 6 }), fc.array(fc.string({ maxLength: 20 }).filter((s) => !s.includes("\n")), { maxLength: 3 }), (bytes, remove, append) => {
        const buf = Buffer.from(bytes);
        const before = parse(buf).lines;
        const out = editedBytes(buf, remove, append);
        const after = parse(out).lines.map((l) => out.subarray(l.start, l.end).toString("latin1"));
        const kept = before.filter((l) => !remove.includes(l.number)).map((l) => buf.subarray(l.start, l.end).toString("latin1"));
        const appended = append.map((a) => Buffer.from(a, "utf8").toString("latin1"));
        expect(after).toEqual([...kept, ...appended]);
        if (remove.length === 0 && append.length === 0) expect(out.equals(buf)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("counts the lines `wc -l` counts, and hashes what `sha256sum` does (live cross-check on /etc/passwd)", () => {
    const r = read("/etc/passwd");
    if (!r.ok || "notAFile" in r.value) throw new Error("/etc/passwd not read");
    const newlines = Number(execFileSync("wc", ["-l", "/etc/passwd"], { encoding: "utf8" }).trim().split(/\s+/)[0]);
    expect(r.value.lines.length).toBe(newlines + (r.value.endsWithNewline ? 0 : 1));
    expect(execFileSync("sha256sum", ["/etc/passwd"], { encoding: "utf8" }).split(" ")[0]).toBe(r.value.sha256);
  });
});
