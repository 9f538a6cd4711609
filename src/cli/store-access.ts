// Opening the state store from the notification commands: read-only for listings (beside a
// running run), or for writing under the run lock (ack, notify flush), with the store's refusals
// said on stderr as `covenant <command>: ...` and exit 2.
import { existsSync } from "node:fs";
import { acquireRunLock } from "../store/run-lock.js";
import { defaultStateDir } from "../store/state-dir.js";
import { StateStore, StoreError } from "../store/store.js";
import { escapeText } from "./escape.js";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";

/** Runs `work` with the store open read-only (beside a running run); the store's refusals are exit 2. */
export function withStoreForReading(state: string | undefined, io: Io, command: string, work: (store: StateStore) => number): number {
  let store: StateStore | undefined;
  try {
    store = StateStore.openReadOnly(state ?? defaultStateDir());
    return work(store);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    io.err(`covenant ${command}: ${escapeText(err.message)}`);
    return EXIT.policyError;
  } finally {
    store?.close();
  }
}

/** Runs `work` with the store open for writing and the run lock held (no run writes meanwhile). */
export async function withStoreForWriting(state: string | undefined, io: Io, command: string, work: (store: StateStore, dir: string) => Promise<number> | number): Promise<number> {
  const dir = state ?? defaultStateDir();
  // the lock is taken in the state directory: one that does not exist holds no store to change
  if (!existsSync(dir)) {
    io.err(`covenant ${command}: no store in ${escapeText(dir)} (the directory does not exist: nothing has run there yet; choose another with --state)`);
    return EXIT.policyError;
  }
  let lock: ReturnType<typeof acquireRunLock>;
  try {
    lock = acquireRunLock(dir);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    io.err(`covenant ${command}: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
  if (!lock.ok) {
    io.err(`covenant ${command}: a run (pid ${lock.holder.pid}) holds the lock on ${escapeText(dir)}; try again when it has finished`);
    return EXIT.policyError;
  }
  let store: StateStore | undefined;
  try {
    store = StateStore.open(dir);
    return await work(store, dir);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    io.err(`covenant ${command}: ${escapeText(err.message)}`);
    return EXIT.policyError;
  } finally {
    store?.close();
    const failed = lock.release();
    if (failed) io.err(`covenant ${command}: ${escapeText(failed.message)}`);
  }
}
