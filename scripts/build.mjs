// Bundles the CLI into one file: start-up time matters for a command run from cron and
// editors, and one file loads far faster than hundreds of ESM modules.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
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
// The snapshot holds `check` and `fmt` only: the other subcommands stay dynamic imports that
// it never runs (they need native addons and files beside the bundle, which a snapshot lacks).
const onlyCheckAndFmt = {
  name: "only-check-and-fmt",
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\// }, (args) => (/^\.\/commands\/(check|fmt)\.js$/.test(args.path) ? undefined : { path: args.path, external: true }));
  },
};

// One build with code splitting: each subcommand's modules load only when it runs.
await build({
  ...common,
  entryPoints: { covenant: "src/cli/main.ts", index: "src/index.ts" },
  outdir: "dist",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
});

// The startup snapshot for `check` and `fmt` (see src/cli/snapshot.ts and bin/covenant). A V8
// snapshot only runs on the node binary that built it, so the binary's identity is written
// beside it and bin/covenant compares it before use. The snapshot is an optimisation: when it
// cannot be built the command still works, from the bundle.
await buildSnapshot();

async function buildSnapshot() {
  const dir = "dist/snapshot";
  try {
    await build({
      ...common,
      banner: undefined,
      format: "cjs",
      sourcemap: false,
      entryPoints: { entry: "src/cli/snapshot.ts" },
      outdir: dir,
      outExtension: { ".js": ".cjs" },
      plugins: [onlyCheckAndFmt],
    });
    const r = spawnSync(process.execPath, ["--snapshot-blob", `${dir}/covenant.blob`, "--build-snapshot", `${dir}/entry.cjs`], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr || `exit ${r.status}`);
    const node = realpathSync(process.execPath);
    const st = statSync(node);
    writeFileSync(`${dir}/node`, `${node} ${st.size} ${Math.floor(st.mtimeMs / 1000)}\n`);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    console.warn(`covenant build: no startup snapshot (${String(err.message ?? err).split("\n")[0]}); every command starts from the bundle`);
  }
}
