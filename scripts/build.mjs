// Bundles the CLI into one file: start-up time matters for a command run from cron and
// editors, and one file loads far faster than hundreds of ESM modules.
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { buildNative } from "./build-native.mjs";
import { buildSnapshotBlob } from "./build-snapshot.mjs";
import { bundleOptions } from "./bundle-options.mjs";

buildNative(); // the optional addon; quick when it is up to date
rmSync("dist", { recursive: true, force: true });
const common = bundleOptions;
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

// The start-up snapshot for `check` and `fmt` (see src/cli/snapshot.ts and bin/covenant): its
// entry is bundled here, the snapshot itself built by scripts/build-snapshot.mjs (again at
// install, with the user's node). Optional: without it every command starts from the bundle.
try {
  await build({
    ...common,
    banner: undefined,
    format: "cjs",
    sourcemap: false,
    entryPoints: { entry: "src/cli/snapshot.ts" },
    outdir: "dist/snapshot",
    outExtension: { ".js": ".cjs" },
    plugins: [onlyCheckAndFmt],
  });
  buildSnapshotBlob();
} catch (err) {
  console.warn(`covenant build: no start-up snapshot entry (${String(err.message ?? err).split("\n")[0]}); every command starts from the bundle`);
}
