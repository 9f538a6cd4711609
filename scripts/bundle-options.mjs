// The esbuild options every bundle of Covenant shares (scripts/build.mjs; the notifier bundle
// test builds with them too, so what it checks is what ships).
import { readFileSync } from "node:fs";
import { bundleExternals } from "./deb/modules.mjs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

export const bundleOptions = {
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
  // loaded from node_modules at run time, never bundled: a native addon (better-sqlite3), and
  // the channel libraries (nodemailer, twilio: megabytes, loaded only when a message is sent);
  // the Debian package ships exactly these and what they depend on (scripts/deb/modules.mjs)
  external: bundleExternals,
};
