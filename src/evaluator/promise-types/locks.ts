import { locksOnFile, type LockKind } from "../../probes/locks.js";
import type { Skip } from "../../probes/result.js";
import { attr, type Difference, type EvalContext, type PromiseBehaviour } from "../contract.js";
import { expandGlob, isGlob } from "../glob-paths.js";
import { counted, skipNotes } from "../observation-notes.js";
import type { PromiseTypeSpec } from "../schema.js";

export const locks: PromiseTypeSpec = {
  name: "locks",
  summary: "Who holds locks on files, from /proc/locks.",
  description:
    "Promises that locks (POSIX, flock or OFD) on the matching files are held only by the named processes, and that the number of locks stays within bounds. A lock that must be held (a posting service that owns the ledger) is written with `min`.",
  promiser: { type: { kind: "path", glob: true }, description: "Absolute path or glob of the locked files." },
  attributes: [
    { name: "holders", type: { kind: "list", of: { kind: "string", nonEmpty: true } }, description: "Process names allowed to hold the locks." },
    { name: "min", type: { kind: "integer", min: 0 }, description: "Fewest locks that must be held." },
    { name: "max", type: { kind: "integer", min: 0 }, description: "Most locks that may be held." },
    { name: "kind", type: { kind: "oneOrMany", of: { kind: "enum", values: ["posix", "flock", "ofd"] } }, description: "Only count locks of these kinds." },
    { name: "access", type: { kind: "enum", values: ["read", "write", "any"] }, description: "Only count locks of this access.", default: "any" },
  ],
  constraints: [
    { kind: "lessOrEqual", lower: "min", upper: "max" },
    { kind: "atLeastOne", attributes: ["holders", "min", "max"] },
  ],
  repairs: "None: lock findings are reported only.",
  example: `locks "/srv/ledger/*.dat" {
  holders = ["ledger-postd"]
}`,
};

interface HeldLock {
  /** the locked file as the policy names it */
  path: string;
  kind: LockKind;
  access: "read" | "write" | "none";
  pid: number;
  /** the holder's command name; absent when the holder is unknown or has ended */
  comm?: string;
}

interface LocksObservation {
  /** held locks of the promised kinds and access; waiters are not holders */
  locks: HeldLock[];
}

/** Leases and NFS delegations are not locks a process takes on a ledger file. */
const defaultKinds: LockKind[] = ["posix", "flock", "ofd"];

/** A host path back as the policy wrote it, for the reasons people read. */
function policyPathOf(ctx: EvalContext, hostPath: string): string {
  const root = ctx.hostPath("/");
  return root !== "/" && hostPath.startsWith(root) ? `/${hostPath.slice(root.length)}` : hostPath;
}

function lockText(l: HeldLock): string {
  const holder = l.comm === undefined ? `pid ${l.pid}` : `${l.comm} (pid ${l.pid})`;
  return `${l.kind} ${l.access} lock held by ${holder}`;
}

/** Behaviour: reported only; breaking a lock could corrupt what it protects. */
export const locksBehaviour: PromiseBehaviour<LocksObservation> = {
  observe(p, ctx) {
    const pattern = p.promiser as string;
    const all = ctx.snapshot.locks();
    if (!all.ok) return { ok: false, error: `cannot read the lock table: ${all.error.message}` };
    const glob = isGlob(pattern);
    const files = glob ? expandGlob(ctx.hostPath(pattern)) : [ctx.hostPath(pattern)];
    const skipped: Skip[] = [...all.skipped];
    const notes: string[] = [];
    if (glob && files.length === 0) notes.push(`no file matches ${pattern}`);
    const kinds = attr<LockKind[]>(p, "kind") ?? defaultKinds;
    const access = attr<string>(p, "access") ?? "any";
    const locks: HeldLock[] = [];
    for (const file of files) {
      const on = locksOnFile(all.value, file);
      if (!on.ok) {
        // a file the policy names must be there to be judged; one a glob found may have gone since
        if (!glob) return { ok: false, error: `cannot observe the locks on ${pattern}: ${on.error.message}` };
        skipped.push({ path: file, reason: on.error.code === "not-found" ? "vanished while being read" : on.error.message });
        continue;
      }
      const path = policyPathOf(ctx, file);
      for (const l of on.value) {
        if (l.blocked || !kinds.includes(l.kind) || (access !== "any" && l.access !== access)) continue;
        locks.push({ path, kind: l.kind, access: l.access, pid: l.pid });
      }
    }
    const judgesHolders = attr<string[]>(p, "holders") !== undefined;
    // holders are named in every reason; only `holders` makes an unreadable process table an error
    const processes = locks.length > 0 ? ctx.snapshot.processes() : undefined;
    if (processes && !processes.ok && judgesHolders) return { ok: false, error: `cannot tell who holds the locks on ${pattern}: ${processes.error.message}` };
    if (processes?.ok) {
      const commOf = new Map(processes.value.map((proc) => [proc.pid, proc.comm] as const));
      for (const l of locks) {
        const comm = commOf.get(l.pid);
        if (comm !== undefined) l.comm = comm;
      }
    }
    const unknown = locks.filter((l) => l.comm === undefined);
    if (judgesHolders && unknown.length > 0) {
      notes.push(`${counted(unknown.length, "lock has", "locks have")} no known holder (${unknown.map((l) => (l.pid < 0 ? `${l.path}: not given by the kernel` : `${l.path}: pid ${l.pid} has ended`)).join("; ")}): not judged on \`holders\``);
    }
    notes.unshift(...skipNotes(skipped));
    return notes.length > 0 ? { ok: true, value: { locks }, notes } : { ok: true, value: { locks } };
  },

  judge(p, observed) {
    const out: Difference[] = [];
    const pattern = p.promiser as string;
    const count = observed.locks.length;
    const min = attr<number>(p, "min");
    if (min !== undefined && count < min) {
      out.push({ attribute: "min", expected: `at least ${min}`, observed: String(count), reason: `${counted(count, "lock")} held on ${pattern}, at least ${min} promised` });
    }
    const max = attr<number>(p, "max");
    if (max !== undefined && count > max) {
      out.push({ attribute: "max", expected: `at most ${max}`, observed: String(count), reason: `${counted(count, "lock")} held on ${pattern} (${observed.locks.map((l) => `${l.path}: ${lockText(l)}`).join("; ")}), at most ${max} promised` });
    }
    const holders = attr<string[]>(p, "holders");
    if (holders) {
      for (const l of observed.locks) {
        if (l.comm === undefined || holders.includes(l.comm)) continue;
        out.push({ subject: l.path, attribute: "holders", expected: holders.join(", "), observed: l.comm, reason: `${l.path}: ${lockText(l)}, not one of the allowed holders (${holders.join(", ")})` });
      }
    }
    return out;
  },
};
