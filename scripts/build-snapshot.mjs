// Builds the CLI's V8 start-up snapshot (dist/snapshot/covenant.blob) from its entry
// (dist/snapshot/entry.cjs, bundled by scripts/build.mjs), and records the node binary that
// built it and the V8 flags it was built with (dist/snapshot/node, one line each): a snapshot
// only runs on that binary with those flags, and bin/covenant uses it only then. Runs at `npm
// run build` and again at install, because the package ships the entry but never a snapshot
// (the publisher's node is not the user's). Optional: on failure it warns and every command
// starts from the bundle. Never throws.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const dir = join(dirname(fileURLToPath(import.meta.url)), "../dist/snapshot");

// V8 flags the snapshot is built with; it runs only with the same ones, so they are recorded
// beside the node binary's identity and the launcher passes them back. A young generation of
// at most 2 MB per semi-space, not 16: nearly everything a check allocates (the AST) lives to
// the end, so a large young generation only adds pages to fault in and objects to copy
// (20,000 promises: 15% less wall time, 26 MB less RSS; bench/README.md).
export const snapshotV8Flags = ["--max-semi-space-size=2"];

export function buildSnapshotBlob() {
  if (!existsSync(join(dir, "entry.cjs"))) return; // a fresh clone at install: the build (prepare) comes later
  const stamp = join(dir, "node");
  rmSync(stamp, { force: true });
  // both without Node's code cache of its own modules and of the functions compiled while the
  // snapshot was built: neither made a command faster (the functions compile again when called,
  // as quickly; a command loads few modules the snapshot lacks), and the cache, ~2.9 MB of each
  // blob, stayed resident for the whole command (2.3 to 3.1 MB of a run's or a check's peak,
  // bench/README.md). Their entries are bundled for it (bundle-options.mjs, snapshotEntryOptions).
  const checkAndFmt = makeBlob("entry.cjs", "covenant.blob", "every command starts from the bundle", { withoutCodeCache: true });
  // `run`'s hands over to the bundle what it lacks (src/cli/hand-over.ts), through an ES import
  // from the snapshot's world, which Node has offered since 20.12 and 21.7
  const run = existsSync(join(dir, "run.cjs")) && vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER !== undefined ? makeBlob("run.cjs", "run.blob", "run starts from the bundle", { withoutCodeCache: true }) : (rmSync(join(dir, "run.blob"), { force: true }), false);
  if (!checkAndFmt && !run) return;
  // what `stat -L -c '%d %i %s %Y'` prints for the same file in bin/covenant (as bigints:
  // inode numbers on overlayfs and NFS pass 2^53, and %Y is the seconds rounded down)
  const st = statSync(process.execPath, { bigint: true });
  writeFileSync(stamp, `${st.dev} ${st.ino} ${st.size} ${st.mtimeNs / 1_000_000_000n}\n${snapshotV8Flags.join(" ")}\n`);
}

/**
 * Makes dist/snapshot/`blobName` from its entry; whether it could (else it warns and the blob is
 * gone). `withoutCodeCache` where this node can leave its code cache out (`--build-snapshot-config`,
 * Node 20.12 and 21.6 on); with it where it cannot.
 */
function makeBlob(entryName, blobName, without, { withoutCodeCache = false } = {}) {
  const blob = join(dir, blobName);
  const config = join(dir, `${blobName}.json`);
  const build = (how) => spawnSync(process.execPath, [...snapshotV8Flags, "--snapshot-blob", blob, ...how], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  try {
    let r;
    if (withoutCodeCache) {
      writeFileSync(config, JSON.stringify({ builder: join(dir, entryName), withoutCodeCache: true }));
      r = build(["--build-snapshot-config", config]);
    }
    if (r === undefined || (r.status !== 0 && /bad option/.test(r.stderr ?? ""))) r = build(["--build-snapshot", join(dir, entryName)]);
    if (r.status !== 0) throw new Error(r.stderr || r.error?.message || `exit ${r.status}`);
    return true;
  } catch (err) {
    rmSync(blob, { force: true });
    console.warn(`covenant: no start-up snapshot ${blobName} (${String(err.message ?? err).split("\n").find((l) => /Error/.test(l)) ?? String(err.message ?? err).split("\n")[0]}); ${without}`);
    return false;
  } finally {
    rmSync(config, { force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildSnapshotBlob();
