// Bundles the CLI into one file: start-up time matters for a command run from cron and
// editors, and one file loads far faster than hundreds of ESM modules.
import { build } from "esbuild";
import { readFileSync, rmSync } from "node:fs";
import { buildNative } from "./build-native.mjs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
buildNative(); // the optional addon; quick when it is up to date
rmSync("dist", { recursive: true, force: true });
const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  define: { COVENANT_VERSION: JSON.stringify(pkg.version) },
  banner: { js: "import { createRequire as __covenantRequire } from 'node:module'; const require = __covenantRequire(import.meta.url);" },
  logLevel: "warning",
  // a native addon: loaded from node_modules at run time, never bundled
  external: ["better-sqlite3"],
};
// One build with code splitting: each subcommand's modules load only when it runs.
await build({
  ...common,
  entryPoints: { covenant: "src/cli/main.ts", index: "src/index.ts" },
  outdir: "dist",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
});
