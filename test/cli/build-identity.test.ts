// The build's identity (scripts/bundle-options.mjs), which the policy and configuration caches
// trust: a cache is used only by the build that wrote it. Every file of Covenant's own the bundle
// is made from must be in it, or a build that changed only that file (the configuration's schema,
// say) would go on using what the build before judged.
import { build } from "esbuild";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error the build's own module, plain JavaScript
import { bundleOptions, DIGESTED_BESIDE_SRC } from "../../scripts/bundle-options.mjs";

describe("the build's identity", () => {
  it("digests every file of Covenant's own that the bundle and the run snapshot's entry are made from", async () => {
    const out = mkdtempSync(join(tmpdir(), "covenant-digest-"));
    try {
      const entries = ["src/cli/main.ts", "src/cli/run-snapshot.ts", "src/index.ts"];
      const result = await build({ ...(bundleOptions as object), entryPoints: entries, outdir: out, write: false, metafile: true, splitting: true, format: "esm", logLevel: "silent" });
      const ours = Object.keys(result.metafile.inputs)
        .filter((f) => !/(^|\/)node_modules\//.test(f) && !f.includes(":"))
        .map((f) => relative(process.cwd(), f));
      expect(ours.length).toBeGreaterThan(100);
      expect(ours.filter((f) => !f.startsWith("src/") && f !== "package.json" && !(DIGESTED_BESIDE_SRC as string[]).includes(f))).toEqual([]);
      // the configuration's schema is one of them: its validator is compiled from it
      expect(ours).toContain("docs/covenant.schema.json");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("digests the build scripts and what they import, and lists no file that is not there", () => {
    const listed = DIGESTED_BESIDE_SRC as string[];
    expect(listed.filter((f) => !existsSync(f))).toEqual([]);
    // the scripts the bundle is built by, and the modules of their own each imports
    const scripts = ["scripts/build.mjs", "scripts/bundle-options.mjs", "scripts/build-run-snapshot.mjs"];
    const imported = scripts.flatMap((f) => [...readFileSync(f, "utf8").matchAll(/from "(\.\.?\/[^"]+\.m?[jc]s)"/g)].map((m) => join(dirname(f), m[1]!)));
    expect([...scripts, ...imported].filter((f) => !/build-(snapshot|native)\.mjs$/.test(f) && !listed.includes(f))).toEqual([]);
    expect(listed).toContain("tsconfig.json");
  });
});
