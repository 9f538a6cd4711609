import { locksOnFile, type LockKind } from "../../probes/locks.js";
import type { Skip } from "../../probes/result.js";
import { attr, type Difference, type EvalContext, type PromiseBehaviour } from "../contract.js";
import { expandGlob, isGlob } from "../glob-paths.js";
import { brokenRule, deletedProgramNotes, hasRules, holderText, resolveHolders, rulesOf, type Holder, type HolderRules, type RuleAttributes } from "../lock-holders.js";
import { counted, skipNotes } from "../observation-notes.js";

interface HeldLock {
  /** the locked file as the policy names it */
  path: string;
  kind: LockKind;
  access: "read" | "write" | "none";
  holder: Holder;
}

interface LocksObservation {
  /** held locks of the promised kinds and access; waiters are not holders */
  locks: HeldLock[];
}

const ruleAttributes: RuleAttributes = { names: "holders", exes: "holder_exe", users: "holder_user" };

/** Leases and NFS delegations are not locks a process takes on a ledger file. */
const defaultKinds: LockKind[] = ["posix", "flock", "ofd"];

/** A host path back as the policy wrote it, for the reasons people read. */
function policyPathOf(ctx: EvalContext, hostPath: string): string {
  const root = ctx.hostPath("/");
  return root !== "/" && hostPath.startsWith(root) ? `/${hostPath.slice(root.length)}` : hostPath;
}

function lockText(l: HeldLock, rules: HolderRules, ctx: EvalContext): string {
  return `${l.kind} ${l.access} lock held by ${holderText(l.holder, rules, ctx)}`;
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
    const found: { path: string; kind: LockKind; access: HeldLock["access"]; pid: number }[] = [];
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
        found.push({ path, kind: l.kind, access: l.access, pid: l.pid });
      }
    }
    const rules = rulesOf(p, ruleAttributes);
    const resolved = resolveHolders([...new Set(found.map((l) => l.pid))], rules, ctx);
    if (!resolved.ok) return { ok: false, error: `cannot tell who holds the locks on ${pattern}: ${resolved.error}` };
    const locks: HeldLock[] = found.map((l) => ({ path: l.path, kind: l.kind, access: l.access, holder: resolved.holders.get(l.pid)! }));
    const unknown = locks.filter((l) => l.holder.comm === undefined);
    if (hasRules(rules) && unknown.length > 0) {
      const rulesText = Object.entries(ruleAttributes)
        .filter(([k]) => rules[k as keyof HolderRules] !== undefined)
        .map(([, a]) => `\`${a}\``)
        .join(", ");
      notes.push(`${counted(unknown.length, "lock has", "locks have")} no known holder (${unknown.map((l) => (l.holder.pid < 0 ? `${l.path}: not given by the kernel` : `${l.path}: pid ${l.holder.pid} has ended`)).join("; ")}): not judged on ${rulesText}`);
    }
    notes.push(...deletedProgramNotes(resolved.holders.values()));
    notes.unshift(...skipNotes(skipped));
    return notes.length > 0 ? { ok: true, value: { locks }, notes } : { ok: true, value: { locks } };
  },

  judge(p, observed, ctx) {
    const out: Difference[] = [];
    const pattern = p.promiser as string;
    const count = observed.locks.length;
    const rules = rulesOf(p, ruleAttributes);
    const min = attr<number>(p, "min");
    if (min !== undefined && count < min) {
      out.push({ attribute: "min", expected: `at least ${min}`, observed: String(count), reason: `${counted(count, "lock")} held on ${pattern}, at least ${min} promised` });
    }
    const max = attr<number>(p, "max");
    if (max !== undefined && count > max) {
      const held = observed.locks.map((l) => `${l.path}: ${lockText(l, rules, ctx)}`).join("; ");
      out.push({ attribute: "max", expected: `at most ${max}`, observed: String(count), reason: `${counted(count, "lock")} held on ${pattern} (${held}), at most ${max} promised` });
    }
    for (const l of observed.locks) {
      const broken = brokenRule(l.holder, rules, ruleAttributes, ctx);
      if (!broken) continue;
      out.push({ subject: l.path, attribute: broken.attribute, expected: broken.expected, observed: broken.observed, reason: `${l.path}: ${lockText(l, rules, ctx)}, ${broken.why}` });
    }
    return out;
  },
};
