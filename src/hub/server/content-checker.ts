// Checks the policy contents hosts pushed, after their pushes were answered: the push's
// transaction notes a new content as not checked yet (catalogue.ts noteUncheckedContent), and
// this checks it in a thread of its own, within a time limit, then writes what it found and the
// catalogue (catalogueChecked). Checking costs ~3.5 µs a byte: on the request's path, a host with
// an 8 MiB policy held the hub's event loop, every other request with it, for seconds.
//
// One content at a time per hub process (a bounded queue: the database's list of unchecked
// contents), each taken under a row lock (SKIP LOCKED: several hub processes share the work). A
// push wakes it; it also looks every SWEEP_MS, so that a content a stopped process left unchecked
// is checked by another. A content whose check fails or runs out of time is recorded with that
// problem and catalogues nothing.
import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Pool, PoolClient } from "pg";
import { catalogueChecked, UNCHECKED, type CheckedContent, type PolicyText } from "./catalogue.js";
import { pushedPolicy } from "./derive.js";
import { inTransaction } from "../db/transaction.js";
import type { CheckRequest } from "../policy/check-thread.js";

/** How long one content's check may take before it is given up (a policy of 8 MiB checks in ~30 s on a slow core). */
export const CHECK_TIME_LIMIT_MS = 60_000;

/** How often the checker looks for unchecked contents without being woken. */
const SWEEP_MS = 60_000;

/**
 * The thread: the bundle's entry hub-check-thread.js (scripts/build.mjs), or, run from the sources
 * (the tests, under vite), check-thread.ts loaded through tsx (the project's own dev dependency,
 * resolved from the working directory: the repository's).
 */
function startThread(): Worker {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    const source = new URL("../policy/check-thread.ts", here).href;
    return new Worker(`import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(source)}); });`, { eval: true, resourceLimits: THREAD_HEAP });
  }
  for (const rel of ["./hub-check-thread.js", "../hub-check-thread.js"]) {
    const url = new URL(rel, here);
    if (existsSync(fileURLToPath(url))) return new Worker(url, { resourceLimits: THREAD_HEAP });
  }
  throw new Error("the policy check thread's code (hub-check-thread.js) is not beside the bundle");
}

/** The thread's heap: a policy of 8 MiB and its syntax tree, with room. */
const THREAD_HEAP = { maxOldGenerationSizeMb: 512 };

/** Checks one content's files in a thread of its own; a check past `limitMs` is ended and said so. */
export function checkInThread(content: string, files: PolicyText[], read: Date, limitMs = CHECK_TIME_LIMIT_MS): Promise<CheckedContent> {
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = startThread();
    } catch (err) {
      resolve({ problem: `its check could not start: ${(err as Error).message}`, controls: [] });
      return;
    }
    let settled = false;
    const done = (v: CheckedContent) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(v);
    };
    const timer = setTimeout(() => done({ problem: `its check took longer than ${Math.round(limitMs / 1000)} s: not catalogued`, controls: [] }), limitMs);
    worker.once("message", (m: { ok?: CheckedContent; failed?: string }) => done(m.ok ?? { problem: `its check failed: ${m.failed ?? "?"}`, controls: [] }));
    worker.once("error", (err) => done({ problem: `its check failed: ${err.message}`, controls: [] }));
    worker.once("exit", () => done({ problem: "its check stopped without an answer", controls: [] }));
    const request: CheckRequest = { content, files, read: read.toISOString() };
    worker.postMessage(request);
  });
}

/** The first record that brought a content, as the push stored it; the caller holds the content's row lock. */
async function nextUnchecked(c: PoolClient): Promise<{ content: string; line: string | null; time: string | null; received: Date | null } | undefined> {
  const row = await c.query<{ content: string; line: string | null; time: string | null; received_at: Date | null }>(
    `SELECT pc.content, r.line, r.host_time AS time, r.received_at FROM hub_policy_contents pc
       LEFT JOIN LATERAL (SELECT r.line, r.host_time, r.received_at FROM hub_host_policies hp JOIN hub_records r ON r.host_id = hp.host_id AND r.seq = hp.first_record AND r.kind = 'policy'
         WHERE hp.content = pc.content ORDER BY r.received_at LIMIT 1) r ON true
     WHERE pc.problem = $1 ORDER BY pc.checked_at LIMIT 1 FOR UPDATE OF pc SKIP LOCKED`,
    [UNCHECKED],
  );
  const r = row.rows[0];
  return r ? { content: r.content, line: r.line, time: r.time, received: r.received_at } : undefined;
}

export class ContentChecker {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly pool: Pool,
    private readonly log: (line: string) => void,
  ) {
    this.sweep = setInterval(() => this.wake(), SWEEP_MS);
    this.sweep.unref();
  }

  /** Checks what is unchecked, now or after the round under way. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: Error) => this.log(`hub: checking pushed policies failed: ${err.message}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Whether a round of checks is under way. */
  busy(): boolean {
    return this.running !== undefined;
  }

  /** Resolves once nothing is being checked (tests wait on it). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweep);
    await this.idle();
  }

  private async drain(): Promise<void> {
    while (!this.stopped && (await this.checkOne())) {
      // one content after another, until none is left unchecked
    }
  }

  /** Checks one unchecked content; false when there was none. */
  private async checkOne(): Promise<boolean> {
    // in one transaction, the content's row locked for the check's time (transaction.ts takes a
    // connection the server drops meanwhile)
    return inTransaction(this.pool, async (c) => {
      const next = await nextUnchecked(c);
      if (!next) return false;
      const policy = next.line && next.time && next.received ? pushedPolicy(next.line, next.time, next.received) : undefined;
      const read = next.received ?? new Date();
      const checked: CheckedContent = policy && policy.content === next.content ? await checkInThread(next.content, policy.files, read) : { problem: "the policy record that brought it is no longer held", controls: [] };
      await catalogueChecked(c, next.content, checked, { read, adopted: policy?.adopted ?? read }, "pushed");
      return true;
    });
  }
}
