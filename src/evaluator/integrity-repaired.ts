// A repair Covenant made brings a path to what the policy promises: the state after it is the
// approved one. Without this, every later run would report Covenant's own chmod, chown or restore
// as a change since the approved state (a first observation approves the state before the repair,
// drift included), and a content restore, which puts a new inode at the path, would read as a
// replacement for ever. Only the paths the repair changed are approved, only when the promise held
// after it, and the approval is a record of its own (`how: "repaired"`) naming the promise.
import { readFileStateAndContent } from "../integrity/file-state.js";
import { statWithChangeTime } from "../probes/files.js";
import type { ChangeRecord } from "./change-gate.js";
import { attr, type ApprovedEntry, type EvalContext } from "./contract.js";
import { COPY_MAX_BYTES, entryOf, isIntegrityPromise, secretPatternsOf } from "./integrity-check.js";
import type { CheckedPromise } from "../checker/policy.js";

/** The host paths of file changes that were applied. */
function repairedPaths(changes: readonly ChangeRecord[]): string[] {
  const paths = new Set<string>();
  for (const c of changes) {
    if (c.status !== "applied") continue;
    const ch = c.change;
    if (ch.op === "chmod" || ch.op === "chown" || ch.op === "restore" || ch.op === "mkdir") paths.add(ch.path);
  }
  return [...paths].sort();
}

/** Approves the state after a repair of the paths it changed that are kept to an approved state (by this promise or another). */
export async function approveRepaired(p: CheckedPromise, ctx: EvalContext, changes: readonly ChangeRecord[]): Promise<void> {
  if (ctx.integrity.readOnly) return;
  const nodiff = attr<boolean>(p, "nodiff") ?? false;
  const entries: { hostPath: string; entry: ApprovedEntry }[] = [];
  for (const hostPath of repairedPaths(changes)) {
    if (!isIntegrityPromise(p) && ctx.integrity.approved(hostPath) === undefined) continue;
    const before = statWithChangeTime(hostPath);
    const opts: Parameters<typeof readFileStateAndContent>[1] = { signal: ctx.stop };
    if (nodiff) opts.keyDigest = (d) => ctx.baselines.keyDigest(d);
    // the copy is made of the bytes hashed, not of a second read (nodiff keeps no copy)
    else opts.keepUpTo = COPY_MAX_BYTES;
    const { state: now, content } = await readFileStateAndContent(hostPath, opts);
    if (now.status !== "present") continue;
    entries.push({ hostPath, entry: entryOf({ ctx, nodiff, patterns: secretPatternsOf(p) }, { path: hostPath, hostPath }, now, before?.ctimeMs, content) });
  }
  if (entries.length > 0) ctx.integrity.recordRepaired?.(`${p.type}:${String(p.promiser)}`, entries, ctx.now.toISOString());
}
