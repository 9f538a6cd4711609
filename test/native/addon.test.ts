import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { requireAddon } from "../../src/native/addon.ts";

const top = mkdtempSync(join(tmpdir(), "covenant-addon-"));
afterAll(() => rmSync(top, { recursive: true, force: true }));

describe("requireAddon: the native helpers' loader", () => {
  it("passes over a candidate it cannot look into (a file where a directory should be: ENOTDIR) as over a missing one: the next is tried, and the loader never throws", () => {
    // a package whose dist/build is a file: the first candidate from dist/chunks is dist/build/Release
    const root = join(top, "package");
    mkdirSync(join(root, "dist", "chunks"), { recursive: true });
    mkdirSync(join(root, "build", "Release"), { recursive: true });
    writeFileSync(join(root, "dist", "build"), "not a directory");
    copyFileSync(join(process.cwd(), "build", "Release", "seal.node"), join(root, "build", "Release", "seal.node"));
    const from = pathToFileURL(join(root, "dist", "chunks", "chunk.js")).href;
    const found = requireAddon<{ hmacSha256: unknown }>("seal.node", from);
    expect("addon" in found && typeof found.addon.hmacSha256).toBe("function");
    const missing = requireAddon("nothing.node", from);
    expect("failures" in missing && missing.failures).toMatch(/dist\/build\/Release\/nothing\.node: .*ENOTDIR.*; .*\/package\/build\/Release\/nothing\.node: not found/);
  });
});
