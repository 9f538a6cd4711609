// `covenant push`: sends the fleet hub the records it has not acknowledged yet (hub/client/push.ts),
// and says how many went, what the hub holds, and the clock skew it measured. Exit 0 caught up,
// 4 the hub unreachable (the records wait), 5 the hub refused (a fork, a rollback, a position the
// host cannot match), 2 not enrolled or the store cannot be read.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { defaultStateDir } from "../../store/state-dir.js";
import { StateStore, StoreError } from "../../store/store.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import { pushExit, pushFrom, pushLine } from "../hub-push.js";
import type { Io } from "../io.js";

export interface PushCommandOptions {
  state?: string;
  json: boolean;
}

export async function runPush(opts: PushCommandOptions, io: Io): Promise<number> {
  const dir = opts.state ?? defaultStateDir();
  // a push never makes a store: StateStore.open would, in a directory where nothing has run
  if (!existsSync(join(dir, "state.db"))) {
    io.err(`covenant push: no store in ${escapeText(dir)} (nothing has run there yet; choose another with --state)`);
    return EXIT.policyError;
  }
  let store: StateStore;
  try {
    store = StateStore.open(dir);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    io.err(`covenant push: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
  try {
    const outcome = await pushFrom(store);
    if (opts.json) io.out(JSON.stringify(outcome, null, 2));
    if (outcome.status === "caught-up") {
      if (!opts.json) io.out(pushLine(outcome));
    } else io.err(`covenant push: ${pushLine(outcome)}`);
    return pushExit(outcome);
  } finally {
    store.close();
  }
}
