// Entry of `covenant run`'s V8 start-up snapshot (built by scripts/build-run-snapshot.mjs,
// started by bin/covenant for `run`). A run of an unchanged policy spent about a third of its
// time loading and compiling the ~60 ES modules of the bundle it needs; the snapshot holds them
// loaded (and src/cli/snapshot.ts does the same for `check` and `fmt`).
//
// What the snapshot holds is run-time code only, and nothing of the machine it was built on:
// every environment variable, clock, key and terminal is read when the command runs, never
// when a module loads (a random key made at load would be the same in every run, and readable
// in the snapshot's file). Packages and native addons are required when first used, from the
// package's own files: better-sqlite3 from its node_modules, the channel libraries from
// dist/chunks (a snapshot can require, but not import). What the snapshot lacks, it hands to the
// bundle (hand-over.ts).
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { startupSnapshot } from "node:v8";
import { escapeText } from "./escape.js";
import { HandOver, lendFromBundle } from "./hand-over.js";
import { exitOnceWritten, processIo, streamsInUse } from "./io.js";
import { prepareProgram, runPrepared, type PreparedProgram } from "./program.js";
import { addRunCommand } from "./run-command.js";
// loaded into the snapshot, not when the run asks for it: the command and all it reads from
import "./commands/run.js";

/** The globals the run snapshot's build points its code at (scripts/build-run-snapshot.mjs): set by start() before the command runs. */
interface SnapshotGlobals {
  /** require from the bundle's chunks (dist/chunks), for what the snapshot requires at run time */
  __covenantRequire?: NodeJS.Require;
  /** the URL of a chunk of the bundle (dist/chunks), for what asks `import.meta.url` */
  __covenantChunkUrl?: string;
}

/** The bundle beside the snapshot: `--snapshot-blob <dist/snapshot/run.blob>` names the snapshot. */
function bundleFile(): string {
  const at = process.execArgv.indexOf("--snapshot-blob");
  const blob = at >= 0 ? process.execArgv[at + 1] : undefined;
  if (blob === undefined) throw new Error("started without --snapshot-blob: run bin/covenant");
  return join(dirname(dirname(resolve(blob))), "covenant.js");
}

/** The bundle's `main`, imported as an ES module from the snapshot's world. */
async function importBundle(file: string): Promise<typeof import("./main.js")> {
  // Node calls the loader this uses experimental, and says so once: not to the user, whose
  // command did not ask for it (what else the process warns of is said as always)
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (!String(warning).includes("USE_MAIN_CONTEXT_DEFAULT_LOADER")) (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    // node:vm only now, from the running node (a snapshot is better off without its state)
    const { Script, constants } = createRequire(file)("node:vm") as typeof import("node:vm");
    const load = new Script("(url) => import(url)", { importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER! as never }).runInThisContext() as (url: string) => Promise<typeof import("./main.js")>;
    return await load(pathToFileURL(file).href);
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * The program with `run` alone (the launcher starts the snapshot for `run` only), defined when
 * the snapshot is built, for the one run it starts. Every other command's definitions stay in
 * the bundle: each object the snapshot holds is made again in every run (0.5 MB of commander's
 * objects, bench/README.md).
 */
let prepared: PreparedProgram | undefined = prepareProgram(processIo(), addRunCommand);

/** The prepared program, once: a program keeps what it parsed, so a second use is a bug. */
function takePrepared(): PreparedProgram {
  const program = prepared;
  prepared = undefined;
  if (program === undefined) throw new Error("the run snapshot's program was already used");
  return program;
}

async function start(argv: string[]): Promise<void> {
  const bundle = bundleFile();
  const globals = globalThis as SnapshotGlobals;
  // the snapshot's modules stand where they stand in the bundle, in dist/chunks: what they find
  // from there (the native helpers, `../build/Release` then `../../build/Release`; packages in
  // node_modules; the channel libraries beside them) is what the bundle finds, all in the
  // package. From dist/ itself, `../../build/Release` is outside it: a directory another user may
  // own, from which root would load a native helper of theirs.
  const chunk = join(dirname(bundle), "chunks", "run-snapshot.cjs");
  globals.__covenantRequire = createRequire(chunk);
  globals.__covenantChunkUrl = pathToFileURL(chunk).href;
  let imported: Promise<typeof import("./main.js")> | undefined;
  const loadBundle = () => (imported ??= importBundle(bundle));
  lendFromBundle(async () => (await loadBundle()).bundleLoans);
  try {
    exitOnceWritten(await runPrepared(argv, takePrepared()));
  } catch (err) {
    if (!(err instanceof HandOver)) throw err;
    // why can hold outside text (the policy cache's path, in a refusal): escaped, as main escapes its own
    if (process.env["COVENANT_DEBUG"]) process.stderr.write(`covenant: ${escapeText(err.message)}\n`);
    const bundled = await loadBundle();
    const code = await bundled.main(argv);
    bundled.exitOnceWritten(code, [...new Set([...streamsInUse(), ...bundled.streamsInUse()])]);
  }
}

startupSnapshot.setDeserializeMainFunction(() => {
  // node --snapshot-blob FILE -- ARGS: process.argv is [node, ...ARGS]
  start(process.argv.slice(1)).catch((err: unknown) => {
    // main says every error of a command itself: this is the snapshot's own (the bundle missing)
    process.stderr.write(`covenant: internal error: ${escapeText(String((err as Error)?.message ?? err))}\nThis is a bug in Covenant; please report it with the command you ran.\n`);
    process.exit(3);
  });
});
