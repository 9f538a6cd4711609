// The esbuild options every bundle of Covenant shares (scripts/build.mjs; the notifier bundle
// test builds with them too, so what it checks is what ships).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bundleExternals } from "./deb/modules.mjs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

/**
 * The SMS channel sends through twilio's Client with an HTTP client of its own
 * (src/notifiers/twilio-http.ts), so twilio's default RequestClient, which the Client's module
 * requires whether it is used or not, is replaced in the bundle by one that says so if it is
 * ever made. It would bring axios, form-data, jsonwebtoken and their dependencies (with the whole
 * client, 14 MB more resident memory in a run that sends texts, bench/notify).
 */
const withoutTwilioRequestClient = {
  name: "without-twilio-request-client",
  setup(b) {
    b.onResolve({ filter: /^\.\/RequestClient$/ }, (args) =>
      /[\\/]node_modules[\\/]twilio[\\/]lib[\\/]base[\\/]BaseTwilio\.js$/.test(args.importer) ? { path: fileURLToPath(new URL("twilio-request-client.cjs", import.meta.url)) } : undefined,
    );
  },
};

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
  // loaded from node_modules at run time, never bundled: the native addon (better-sqlite3); the
  // Debian package ships exactly it and what it depends on (scripts/deb/modules.mjs). The channel
  // libraries are bundled, each in chunks loaded only when its channel is made: nodemailer as one
  // file costs ~3 MB of resident memory where its ~40 ES modules cost ~9 MB, and twilio's Client
  // and Messages resource take ~50 KB of its 21 MB (bench/notify).
  external: bundleExternals,
  plugins: [withoutTwilioRequestClient],
};
