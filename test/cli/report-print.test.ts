// A report printed to standard output in pieces: chunks of about 64 KiB, each ending at a
// line's end and waited for, that together are the report exactly (one newline at its end).
import { describe, expect, it } from "vitest";
import { PRINT_CHUNK, printPieces } from "../../src/cli/commands/report.ts";
import type { Io } from "../../src/cli/io.ts";

function capture(flushed: boolean): { io: Io; writes: string[] } {
  const writes: string[] = [];
  const out = (t: string) => void writes.push(t.endsWith("\n") ? t : `${t}\n`);
  const io = { out, err: () => {}, ...(flushed ? { outFlushed: async (t: string) => out(t) } : {}) } as unknown as Io;
  return { io, writes };
}

describe("printing a report in pieces", () => {
  const line = `${"x".repeat(99)}\n`;
  const pieces = Array.from({ length: 30_000 }, (_, i) => (i % 3 === 0 ? line : line.slice(0, 50) + "\n" + line.slice(51)));

  for (const flushed of [true, false]) {
    it(`prints exactly the pieces joined, in chunks ending at a line's end (${flushed ? "waited for" : "written at once"})`, async () => {
      const { io, writes } = capture(flushed);
      await printPieces(pieces, io);
      expect(writes.join("")).toBe(pieces.join(""));
      expect(writes.length).toBeGreaterThan(2);
      for (const w of writes) {
        expect(w.endsWith("\n")).toBe(true);
        expect(w.length).toBeLessThan(PRINT_CHUNK + 200);
      }
    });
  }

  it("ends with one newline whether the report has one or not", async () => {
    for (const given of [["{", "}"], ["{", "}\n"]]) {
      const { io, writes } = capture(true);
      await printPieces(given, io);
      expect(writes.join("")).toBe("{}\n");
    }
  });
});
