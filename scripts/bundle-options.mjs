// The esbuild options every bundle of Covenant shares (scripts/build.mjs; the notifier bundle
// test builds with them too, so what it checks is what ships).
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleExternals } from "./deb/modules.mjs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

/**
 * The build's identity: a digest of the sources, package.json and the lock file it is built from.
 * The policy cache (src/cli/policy-cache.ts) trusts only a cache this very build wrote: a checker
 * changed without a new version must not run a policy another checker judged.
 */
function buildDigest() {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const hash = createHash("sha256");
  const files = readdirSync(join(root, "src"), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .sort();
  for (const f of [...files, join(root, "package.json"), join(root, "package-lock.json")].filter((f) => existsSync(f))) hash.update(`${relative(root, f)}\0`).update(readFileSync(f)).update("\0");
  return hash.digest("hex").slice(0, 32);
}

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
  define: { COVENANT_VERSION: JSON.stringify(pkg.version), COVENANT_BUILD: JSON.stringify(buildDigest()) },
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
