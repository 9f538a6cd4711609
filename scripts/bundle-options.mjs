// The esbuild options every bundle of Covenant shares (scripts/build.mjs; the notifier bundle
// test builds with them too, so what it checks is what ships).
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleExternals } from "./deb/modules.mjs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

/**
 * The files outside src/ that go into the bundle or decide what it holds: the configuration's
 * schema (its validator is compiled from it), the stand-in for twilio's request client, the
 * build scripts with their plugins and what they import, and tsconfig.json (esbuild reads it). A build that changes only one of them is another build: the
 * caches it reads were judged by the one before (test/cli/build-identity.test.ts holds this list
 * to what the bundle is made from).
 */
export const DIGESTED_BESIDE_SRC = ["docs/covenant.schema.json", "scripts/twilio-request-client.cjs", "scripts/bundle-options.mjs", "scripts/build.mjs", "scripts/build-run-snapshot.mjs", "scripts/deb/modules.mjs", "tsconfig.json"];

/**
 * The build's identity: a digest of the sources, the files beside them it is built from
 * (DIGESTED_BESIDE_SRC), package.json and the lock file.
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
  for (const f of [...files, ...DIGESTED_BESIDE_SRC.map((f) => join(root, f)), join(root, "package.json"), join(root, "package-lock.json")].filter((f) => existsSync(f))) hash.update(`${relative(root, f)}\0`).update(readFileSync(f)).update("\0");
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

/**
 * Node's builtins with getters among their exports, and the externals (better-sqlite3), are
 * reached through `require` (the banner's, made by createRequire), not through ES imports. An ES
 * import of a builtin makes Node build the builtin's ES facade, which reads every export and so
 * runs the builtin's lazy getters (`node:fs` loads its streams, `node:crypto` webcrypto,
 * `node:net` BlockList); an ES import of a CommonJS package (better-sqlite3) runs Node's
 * CommonJS-to-ES translator and its export lexer over it. Both at every start of `covenant run`
 * (bench/run). The other builtins stay imports: their facades cost no more than `require`, and
 * each module made here is one more file of the bundle to load.
 *
 * Such a builtin becomes an ES module of the bundle: `require("node:fs")` and its exports that
 * are plain values, read from the builtin once, when it loads. An accessor is not read: it cannot
 * be imported by name (the build fails if the sources do) and is not in a namespace import
 * (`import * as fs`); read it from the default import, the module itself. Not a CommonJS module:
 * esbuild would copy every name of it into an object of getters in each file that imports it
 * (~0.15 ms a file for node:fs). An external package becomes `module.exports = require(<name>)`.
 * Dynamic `import()`s are left as they are.
 */
const builtins = new Set(builtinModules);
const requireHere = createRequire(import.meta.url);
/** Whether a builtin has an export read through a getter: only such a builtin's ES facade costs more than requiring it. */
const hasAccessors = (name) => Object.values(Object.getOwnPropertyDescriptors(requireHere(name))).some((d) => d.get);
function builtinModuleSource(name) {
  const m = requireHere(name);
  const names = Object.getOwnPropertyNames(m).filter((k) => k !== "default" && !Object.getOwnPropertyDescriptor(m, k).get);
  const values = names.map((k, i) => `e${i} = m[${JSON.stringify(k)}]`).join(",\n  ");
  return `const m = require(${JSON.stringify(name)});\nexport default m;\nconst ${values};\nexport { ${names.map((k, i) => `e${i} as ${JSON.stringify(k)}`).join(", ")} };\n`;
}
const throughRequire = {
  name: "through-require",
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z][a-z0-9_/-]*$/ }, (args) => {
      if (args.kind !== "import-statement" || args.namespace === "through-require") return undefined;
      const bare = args.path.replace(/^node:/, "");
      if (builtins.has(bare)) return hasAccessors(bare) ? { path: `node:${bare}`, namespace: "through-require" } : undefined;
      if (args.path === bare && bundleExternals.includes(bare)) return { path: bare, namespace: "through-require" };
      return undefined;
    });
    b.onLoad({ filter: /.*/, namespace: "through-require" }, (args) => ({
      loader: "js",
      contents: args.path.startsWith("node:") ? builtinModuleSource(args.path) : `module.exports = require(${JSON.stringify(args.path)});\n`,
    }));
  },
};

/**
 * commander requires node:child_process when it loads (~6 ms with net and dgram, at every start
 * of every command), for executable subcommands (`program.command(name, description)` run as
 * separate programs), which Covenant has none of: in the bundle it gets a stand-in that requires
 * the real module the first time one of its names is read.
 */
const commanderChildProcessOnUse = {
  name: "commander-child-process-on-use",
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]lib[\\/]command\.js$/.test(args.importer) ? { path: "node:child_process", namespace: "commander-child-process" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "commander-child-process" }, () => ({
      loader: "js",
      contents: `let real;\nmodule.exports = new Proxy({}, { get: (_, key) => (real ??= require("node:child_process"))[key] });\n`,
    }));
  },
};

/**
 * What the start-up snapshots' entries are bundled with besides bundleOptions: class fields
 * lowered to assignments in the constructors (esbuild's __publicField, define semantics kept).
 * The snapshots are built without a code cache (scripts/build-snapshot.mjs), so V8 compiles every
 * function again when it is first called; on Node 20 a class's instance-field initializer
 * compiled so crashed the process (SIGTRAP in LdaContextSlotWide: `covenant check` from a
 * snapshot built so died at its first `new Scanner`). Lowered, a class has no such initializer.
 */
export const snapshotEntryOptions = { supported: { "class-field": false, "class-static-field": false } };

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
  plugins: [withoutTwilioRequestClient, commanderChildProcessOnUse, throughRequire],
};
