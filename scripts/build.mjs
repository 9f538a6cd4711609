// Bundles the CLI into one file: start-up time matters for a command run from cron and
// editors, and one file loads far faster than hundreds of ESM modules.
import { build } from "esbuild";
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
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
};
await build({ ...common, entryPoints: ["src/cli/main.ts"], outfile: "dist/covenant.js" });
await build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/index.js" });
