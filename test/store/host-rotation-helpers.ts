// Helpers for the host key rotation tests: a store rotated, one more run over populated()'s
// promises, a reader, and the retired key as host.key.retired keeps it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { StateStore } from "../../src/store/store.ts";
import { result, runBody } from "./helpers.ts";

export const who = (reason = "CHG-9 yearly") => ({ at: "2026-11-24T09:00:00.000Z", reason, by: "Alice Admin", user: "root", loginUid: 1000 });

/** Rotates the host key of the store in `dir` (opened for writing, then closed). */
export function rotate(dir: string, reason?: string): { record: number; old: string; new: string } {
  const store = StateStore.open(dir);
  try {
    return store.rotateHostKey(who(reason));
  } finally {
    store.close();
  }
}

/** One more run over the populated store's three promises, `drifted` in drift. */
export function runOnce(dir: string, drifted?: string): void {
  const store = StateStore.open(dir);
  try {
    const run = store.beginRun();
    const t = `2026-11-24T10:${String(run).padStart(2, "0")}:00.500Z`;
    for (const key of ["C-1/file:a", "C-1/file:b", "C-2/load:"]) store.recordResult(run, t, result(key, key === drifted ? "drift" : "kept", key === drifted ? ["mode is 0666, promised 0640"] : []));
    store.finishRun(runBody(run, 3));
  } finally {
    store.close();
  }
}

export function withReader<T>(dir: string, fn: (s: StateStore) => T): T {
  const s = StateStore.openReadOnly(dir);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

export const retiredKey = (dir: string, seq: number) => Buffer.from(readFileSync(join(dir, "host.key.retired"), "utf8").split("\n").find((l) => l.startsWith(`${seq} `))!.split(" ")[1]!, "hex");

