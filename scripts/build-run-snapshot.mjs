// Bundles the entry of `covenant run`'s start-up snapshot (src/cli/run-snapshot.ts) into
// dist/snapshot/run.cjs, and the channel libraries it requires at run time into dist/chunks;
// scripts/build-snapshot.mjs makes the snapshot from it. Called by scripts/build.mjs.
//
// A snapshot is made by running its entry once, in a node that can require only its builtins, and
// it cannot import ES modules when it runs. So the entry is one CommonJS file whose modules are
// all in it, except:
// - what the run hands over to the bundle (src/cli/hand-over.ts): the other commands, the
//   parser and checker (a policy not in the cache), a sandbox (src/sandbox/), a configuration
//   not in its cache (src/config/load.ts, the YAML library and the schema's validator), the
//   hub's policy; never loaded
//   from the snapshot, and kept out of it (if any of them comes back in, this throws: no run
//   snapshot is made, the build says so, and run starts from the bundle);
// - better-sqlite3's native addon: required from node_modules when the store first opens (its
//   JavaScript is in the snapshot);
// - the channel libraries (nodemailer, twilio's messages): loaded only when a channel is made,
//   from CommonJS files of their own in dist/chunks (built here), as re2js already is.
// Code that asks `import.meta.url` gets a chunk's of the bundle (dist/chunks): the paths it derives
// from it (the native helpers, re2js) are those the bundle's chunks derive, all in the package.
import { build } from "esbuild";
import { createRequire } from "node:module";
import { snapshotEntryOptions } from "./bundle-options.mjs";

const requireHere = createRequire(import.meta.url);

/** The handed-over modules and the packages that must not be in the run snapshot. */
const notInSnapshot = /(^|[\\/])(src[\\/]cli[\\/](checked-policy|hub-policy-run|hub-push)\.ts|src[\\/]sandbox[\\/]|src[\\/]config[\\/](check|load|schema|validator)\.ts|node_modules[\\/](chevrotain|@chevrotain|pg|fastify|chokidar|@peculiar|nodemailer|twilio|vscode-languageserver|yaml|ajv[\\/]dist[\\/]compile)[\\/])/;

/** Channel libraries: the import each channel makes, and what of the library's CommonJS file it is. */
const channelLibraries = {
  nodemailer: { file: "nodemailer.cjs", pick: "" },
  "twilio/lib/base/BaseTwilio.js": { file: "twilio.cjs", pick: ".BaseTwilio" },
  "twilio/lib/base/Domain.js": { file: "twilio.cjs", pick: ".Domain" },
  "twilio/lib/base/Version.js": { file: "twilio.cjs", pick: ".Version" },
  "twilio/lib/rest/api/v2010/account/message.js": { file: "twilio.cjs", pick: ".message" },
};
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** The snapshot runs from dist/snapshot but requires from dist/chunks (as the bundle's chunks do), through the require the entry makes when it starts. */
const atRunTime = (request) => `(globalThis.__covenantRequire ?? (() => { throw new Error("required before the snapshot started: ${request}"); }))(${JSON.stringify(request)})`;

const runSnapshotOnly = {
  name: "run-snapshot-only",
  setup(b) {
    // the other commands: the run snapshot is started for `run` only (bin/covenant)
    b.onResolve({ filter: /^\.\/commands\// }, (args) => (/^\.\/commands\/run\.js$/.test(args.path) ? undefined : { path: args.path, external: true }));
    b.onResolve({ filter: /^(\.\.?\/(checked-policy|hub-policy-run|hub-push)|\.\.\/\.\.\/sandbox\/sandbox|\.\.\/config\/(check|load))\.js$/ }, (args) => ({ path: args.path, external: true }));
    // better-sqlite3's JavaScript is in the snapshot (its own 12 files were read and compiled at
    // every run); its native addon, which a snapshot cannot hold, is loaded from the package's
    // node_modules when the first database opens, where `bindings` would find it
    b.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: requireHere.resolve("better-sqlite3") }));
    b.onResolve({ filter: /^bindings$/ }, (args) => (/[\\/]node_modules[\\/]better-sqlite3[\\/]/.test(args.importer) ? { path: "bindings", namespace: "run-snapshot-native" } : undefined));
    b.onLoad({ filter: /.*/, namespace: "run-snapshot-native" }, () => ({
      loader: "js",
      contents: `const { dirname, join } = require("node:path");
module.exports = (name) => {
  const req = globalThis.__covenantRequire;
  if (!req) throw new Error("required before the snapshot started: " + name);
  const root = dirname(req.resolve("better-sqlite3/package.json"));
  try {
    return req(join(root, "build", "Release", name));
  } catch (err) {
    // built elsewhere than node-gyp puts it: where \`bindings\` looks, from the package's root
    if (err.code !== "MODULE_NOT_FOUND") throw err;
    return req(req.resolve("bindings", { paths: [root] }))({ bindings: name, module_root: root });
  }
};
`,
    }));
    const channels = new RegExp(`^(${Object.keys(channelLibraries).map(escapeRegExp).join("|")})$`);
    b.onResolve({ filter: channels }, (args) => ({ path: args.path, namespace: "run-snapshot-channel" }));
    b.onLoad({ filter: /.*/, namespace: "run-snapshot-channel" }, (args) => {
      const lib = channelLibraries[args.path];
      return { loader: "js", contents: `module.exports = ${atRunTime(`./${lib.file}`)}${lib.pick};\n` };
    });
  },
};

export async function buildRunSnapshotEntry({ common, plugins }) {
  // the channel libraries' CommonJS files (the bundle's own ES chunks cannot be required)
  await build({
    ...common,
    banner: undefined,
    format: "cjs",
    sourcemap: false,
    stdin: { contents: 'module.exports = require("nodemailer");', resolveDir: process.cwd(), loader: "js" },
    outfile: "dist/chunks/nodemailer.cjs",
  });
  const twilio = Object.entries(channelLibraries).filter(([, v]) => v.file === "twilio.cjs");
  await build({
    ...common,
    banner: undefined,
    format: "cjs",
    sourcemap: false,
    stdin: { contents: `module.exports = { ${twilio.map(([path, v]) => `${v.pick.slice(1)}: require(${JSON.stringify(path)})`).join(", ")} };`, resolveDir: process.cwd(), loader: "js" },
    outfile: "dist/chunks/twilio.cjs",
  });
  const result = await build({
    ...common,
    // strict, as the bundle's modules are; `require` is the snapshot builder's (builtins only)
    // until the entry starts, then one from dist/chunks (run-snapshot.ts)
    banner: { js: '"use strict";\nconst __snapshotRequire = require;\nvar require = (id) => (globalThis.__covenantRequire ?? __snapshotRequire)(id);' },
    format: "cjs",
    sourcemap: false,
    metafile: true,
    define: { ...common.define, COVENANT_RUN_SNAPSHOT: "true", "import.meta.url": "globalThis.__covenantChunkUrl" },
    ...snapshotEntryOptions,
    entryPoints: { run: "src/cli/run-snapshot.ts" },
    outdir: "dist/snapshot",
    outExtension: { ".js": ".cjs" },
    plugins: [runSnapshotOnly, ...common.plugins, ...plugins],
  });
  const strays = Object.keys(Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.inputs ?? {}).filter((input) => notInSnapshot.test(input));
  if (strays.length > 0) throw new Error(`the run snapshot would hold what it hands over or requires at run time: ${strays.slice(0, 5).join(", ")}`);
}
