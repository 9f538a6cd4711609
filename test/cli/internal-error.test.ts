// An internal error is a bug, but its message can carry outside text (SQLite's message, a file
// name): a RAISE(ABORT, '<ESC>]0;…\nKEPT …') planted in the store reached the terminal raw. Main
// escapes it. The bug is stood in for by making the store's opening throw such an error: no
// real input reaches this path any more (a store with a trigger is refused before it runs).
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.ts";
import { makeStyle } from "../../src/text/style.ts";
import { StateStore } from "../../src/store/store.ts";

afterEach(() => vi.restoreAllMocks());

describe("internal errors", () => {
  it("are printed with control characters and line breaks escaped, exit 3", async () => {
    vi.spyOn(StateStore, "openReadOnly").mockImplementation(() => {
      throw new Error("\x1b]0;pwned\x07\nKEPT     ITGC-AC-01 forged");
    });
    const err: string[] = [];
    const io = { out: () => {}, err: (t: string) => void err.push(t), style: makeStyle(false), errStyle: makeStyle(false) };
    expect(await main(["history", "--state", "/nonexistent"], io)).toBe(3);
    const text = err.join("\n");
    expect(text).toContain("covenant: internal error: \\x1b]0;pwned\\x07\\nKEPT     ITGC-AC-01 forged");
    expect(text).not.toContain("\x1b");
    expect(text.split("\n").some((line) => line.startsWith("KEPT"))).toBe(false);
  });

  it("with COVENANT_DEBUG, print the stack with its first line escaped as the message is, and the frames below it", async () => {
    vi.spyOn(StateStore, "openReadOnly").mockImplementation(() => {
      throw new Error("\x1b]0;pwned\x07\nKEPT     ITGC-AC-01 forged");
    });
    vi.stubEnv("COVENANT_DEBUG", "1");
    const err: string[] = [];
    const io = { out: () => {}, err: (t: string) => void err.push(t), style: makeStyle(false), errStyle: makeStyle(false) };
    try {
      expect(await main(["history", "--state", "/nonexistent"], io)).toBe(3);
    } finally {
      vi.unstubAllEnvs();
    }
    const text = err.join("\n");
    expect(text).toContain("Error: \\x1b]0;pwned\\x07\\nKEPT     ITGC-AC-01 forged\n    at ");
    expect(text).not.toContain("\x1b");
    expect(text.split("\n").some((line) => line.startsWith("KEPT"))).toBe(false);
  });
});
