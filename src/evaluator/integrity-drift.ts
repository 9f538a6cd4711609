// Which file-integrity findings are drift (issue 15: "an unauthorised change to a ledger file
// known at once ... an authorised change told apart from an unauthorised one"). A promise that
// asks for integrity (a `file` or `directory` with `integrity`) promises its paths stay as
// approved: any change of what the path IS — created, deleted, readable, its type, link target,
// content, mode, owner, group — is a deficiency until `covenant approve` accepts it. A change of
// only mtime, inode or link count is shown as a finding and is not drift: `touch`, a `sed -i`
// that rewrites the same bytes into a new inode, or an editor's save-by-rename change them while
// leaving everything the path holds and allows as approved; calling them drift would page people
// for no change at all (AIDE reports them; its users silence them with `!m!i!n` rules). A promise
// that is only `watch = realtime` shows its findings without promising anything of them.
import { createHash } from "node:crypto";
import type { ChangeKind } from "../integrity/file-change.js";
import { attr, type Difference, type EvalContext } from "./contract.js";
import type { CheckedPromise } from "../checker/policy.js";
import type { FileFinding } from "./file-finding.js";

/** The changes that break an integrity promise; the others (mtime, inode, link-count) are shown only. */
export const DRIFT_KINDS: ReadonlySet<ChangeKind> = new Set<ChangeKind>(["created", "deleted", "status", "type", "link-target", "content", "mode", "owner", "group"]);

/**
 * The kinds of a finding that are drift, in AIDE's order, less those another judge owns: a file
 * promise with a `baseline` copy keeps its content to the copy (judged against it, repaired from
 * it), and with `repair = content` the restored file takes the copy's or the promised mode and
 * owner, so the approved state's cannot be what its mode, owner and group are held to.
 */
export function driftKinds(f: FileFinding, ownedElsewhere: ReadonlySet<ChangeKind> = new Set()): ChangeKind[] {
  return f.changes.map((c) => c.kind).filter((k) => DRIFT_KINDS.has(k) && !ownedElsewhere.has(k));
}

/**
 * The attributes a promise states itself: judged by them (and repaired to them by `repair = perms`),
 * not by the approved state, which may have been recorded before that repair; otherwise
 * Covenant's own repair would be an unapproved change.
 */
export function ownedByThePromise(p: CheckedPromise, options: { modeAttributes?: readonly string[] } = {}): ChangeKind[] {
  const out: ChangeKind[] = [];
  if ((options.modeAttributes ?? ["mode", "max_mode"]).some((a) => attr<unknown>(p, a) !== undefined)) out.push("mode");
  if (attr<unknown>(p, "owner") !== undefined) out.push("owner");
  if (attr<unknown>(p, "group") !== undefined) out.push("group");
  return out;
}

/**
 * One Difference per path whose finding is drift. `significant` is the new state of the drifted
 * attributes, hashed (keyed under the host key for `nodiff`, so no digest of a secret's content is
 * kept): a second unapproved change is a new change of state, the same state seen again is not.
 */
export function integrityDrift(findings: readonly FileFinding[] | undefined, ctx: EvalContext, nodiff: boolean, ownedElsewhere: ReadonlySet<ChangeKind> = new Set()): Difference[] {
  const out: Difference[] = [];
  for (const f of findings ?? []) {
    const kinds = driftKinds(f, ownedElsewhere);
    if (kinds.length === 0) continue;
    // keys sorted: the same state read by the tree walk or by its path is the same state
    const state = canonicalJson(f.changes.filter((c) => kinds.includes(c.kind)).map((c) => [c.kind, c.new ?? null]));
    const digest = createHash("sha256").update(state).digest("hex");
    out.push({
      subject: f.path,
      attribute: "integrity",
      expected: "as approved",
      observed: `changed (${kinds.join(", ")})`,
      reason: `${f.path}: changed since approved (${kinds.join(", ")}) — approve it with \`covenant approve\``,
      significant: nodiff ? ctx.baselines.keyDigest(digest) : digest,
    });
  }
  return out;
}

/** JSON with every object's keys in sorted order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
}
