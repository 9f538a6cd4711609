// Bundles the CLI into one file: start-up time matters for a command run from cron and
// editors, and one file loads far faster than hundreds of ESM modules.
import { build } from "esbuild";
import { readFileSync, rmSync } from "node:fs";
import { buildNative } from "./build-native.mjs";
import { buildRunSnapshotEntry } from "./build-run-snapshot.mjs";
import { buildSnapshotBlob } from "./build-snapshot.mjs";
import { bundleOptions, snapshotEntryOptions } from "./bundle-options.mjs";

buildNative(); // the optional addon; quick when it is up to date
rmSync("dist", { recursive: true, force: true });
const common = bundleOptions;
// covenant.yaml's validator, compiled ahead of time from docs/covenant.schema.json: loading the
// generated code takes ~20 ms where ajv's compiler took ~300 ms at every start. The options are
// src/config/validator.ts's AJV_OPTIONS (kept the same: the CLI tests run this build).
async function precompiledConfigValidator() {
  const { Ajv } = await import("ajv");
  const { default: standaloneCode } = await import("ajv/dist/standalone/index.js");
  const schema = JSON.parse(readFileSync(new URL("../docs/covenant.schema.json", import.meta.url), "utf8"));
  const ajv = new Ajv({ allErrors: true, discriminator: true, verbose: true, strict: true, code: { source: true, esm: true } });
  const code = standaloneCode(ajv, ajv.compile(schema));
  return `${code}\nexport function configValidator() { return validate; }\n`;
}
const configValidatorSource = await precompiledConfigValidator();
const precompiledConfig = {
  name: "precompiled-config-validator",
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]config[\\/]validator\.ts$/ }, () => ({ contents: configValidatorSource, loader: "js", resolveDir: process.cwd() }));
  },
};

// re2js (RE2's engine, ~150 KB) loaded when first used, not when the bundle loads: a run
// evaluates a site's own regular expression (a `mask`, `lines`, `config`, `scheduled`) only if
// the policy has one, and a run from the policy cache checks none (bench/run). Every import of
// it from the sources gets this module, which hands on whatever is asked of `RE2JS` from the
// package's CommonJS build, required at the first use from a file of its own,
// dist/chunks/re2js.cjs (built below): inside a chunk of the bundle it would be read and parsed
// at every start, even run lazily. The sources (and the tests, which run them) import the package
// itself. Not in the start-up snapshot, which is better off with re2js initialised in it.
const re2jsFile = "re2js.cjs";
const lazyRe2js = {
  name: "lazy-re2js",
  setup(b) {
    b.onResolve({ filter: /^re2js$/ }, () => ({ path: "re2js", namespace: "lazy-re2js" }));
    b.onResolve({ filter: /re2js\.cjs$/ }, (args) => (args.namespace === "lazy-re2js" ? { path: args.path, external: true } : undefined));
    b.onLoad({ filter: /.*/, namespace: "lazy-re2js" }, () => ({
      resolveDir: process.cwd(),
      loader: "js",
      // the bundle's files are dist/*.js and dist/chunks/*.js: this module may land in either
      contents: `let real;
const load = () => (real ??= require(new URL(".", import.meta.url).pathname.endsWith("/chunks/") ? "./${re2jsFile}" : "./chunks/${re2jsFile}").RE2JS);
export const RE2JS = new Proxy(function RE2JS() {}, {
  get(_, key) { const c = load(); const v = Reflect.get(c, key, c); return typeof v === "function" ? v.bind(c) : v; },
  has: (_, key) => Reflect.has(load(), key),
  construct: (_, args) => Reflect.construct(load(), args),
  getPrototypeOf: () => Reflect.getPrototypeOf(load()),
});
`,
    }));
  },
};

// The snapshot holds `check` and `fmt` only: the other subcommands stay dynamic imports that
// it never runs (they need native addons and files beside the bundle, which a snapshot lacks).
const onlyCheckAndFmt = {
  name: "only-check-and-fmt",
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\// }, (args) => (/^\.\/commands\/(check|fmt)\.js$/.test(args.path) ? undefined : { path: args.path, external: true }));
    // lent to a run from the run snapshot (src/cli/hand-over.ts), never to check or fmt
    b.onResolve({ filter: /^\.\/hub-push\.js$/ }, (args) => ({ path: args.path, external: true }));
  },
};

// One build with code splitting: each subcommand's modules load only when it runs.
await build({
  ...common,
  // the hub's policy check thread (src/hub/server/content-checker.ts starts it from dist/)
  entryPoints: { covenant: "src/cli/main.ts", index: "src/index.ts", "hub-check-thread": "src/hub/policy/check-thread.ts" },
  outdir: "dist",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  plugins: [...common.plugins, precompiledConfig, lazyRe2js],
});
// re2js on its own, for lazyRe2js above
await build({
  ...common,
  banner: undefined,
  format: "cjs",
  sourcemap: false,
  stdin: { contents: 'module.exports = require("re2js");', resolveDir: process.cwd(), loader: "js" },
  outfile: `dist/chunks/${re2jsFile}`,
});

// The start-up snapshot for `check` and `fmt` (see src/cli/snapshot.ts and bin/covenant): its
// entry is bundled here, the snapshot itself built by scripts/build-snapshot.mjs (again at
// install, with the user's node). Optional: without it every command starts from the bundle.
try {
  await build({
    ...common,
    banner: undefined,
    format: "cjs",
    sourcemap: false,
    ...snapshotEntryOptions,
    entryPoints: { entry: "src/cli/snapshot.ts" },
    outdir: "dist/snapshot",
    outExtension: { ".js": ".cjs" },
    plugins: [...common.plugins, onlyCheckAndFmt, precompiledConfig],
  });
  // and `run`'s, a snapshot of its own (scripts/build-run-snapshot.mjs)
  try {
    await buildRunSnapshotEntry({ common, plugins: [precompiledConfig, lazyRe2js] });
  } catch (err) {
    rmSync("dist/snapshot/run.cjs", { force: true });
    console.warn(`covenant build: no start-up snapshot entry for run (${String(err.message ?? err).split("\n")[0]}); run starts from the bundle`);
  }
  buildSnapshotBlob();
} catch (err) {
  console.warn(`covenant build: no start-up snapshot entry (${String(err.message ?? err).split("\n")[0]}); every command starts from the bundle`);
}
