// Whole-repository hygiene that no other test would notice: a merge's conflict markers left in a
// tracked file, and a link in the docs to a file that does not exist.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" }).split("\0").filter(Boolean);
const textFiles = tracked.filter((f) => /\.(ts|mjs|js|md|json|yaml|yml|promise|sh|txt)$/.test(f) && existsSync(join(root, f)));

describe("the repository", () => {
  it("holds no merge conflict markers", () => {
    const marked: string[] = [];
    for (const f of textFiles) {
      const lines = readFileSync(join(root, f), "utf8").split("\n");
      lines.forEach((line, i) => {
        if (/^(<{7} |>{7} |={7}$)/.test(line)) marked.push(`${f}:${i + 1}: ${line}`);
      });
    }
    expect(marked).toEqual([]);
  });

  it("links in the docs lead to files that exist", () => {
    const broken: string[] = [];
    for (const f of textFiles.filter((t) => t.endsWith(".md") && !t.startsWith("node_modules/"))) {
      const text = readFileSync(join(root, f), "utf8").replace(/```[\s\S]*?```/g, "");
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split("#")[0]!;
        if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        if (!existsSync(join(root, dirname(f), decodeURI(target)))) broken.push(`${f}: ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
