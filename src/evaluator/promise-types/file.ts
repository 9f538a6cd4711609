import * as files from "../../probes/files.js";
import { locksOnFile } from "../../probes/locks.js";
import type { CheckedPromise } from "../../checker/policy.js";
import type { Change } from "../change-gate.js";
import { attr, repairs, type Difference, type EvalContext, type Observation, type PromiseBehaviour } from "../contract.js";
import { expandGlob, isGlob } from "../glob-paths.js";
import type { ChangeKind } from "../../integrity/file-change.js";
import type { FileFinding } from "../file-finding.js";
import { checkIntegrity, isIntegrityPromise } from "../integrity-check.js";
import { integrityDrift, ownedByThePromise } from "../integrity-drift.js";
import { brokenRule, deletedProgramNotes, hasRules, holderText, resolveHolders, rulesOf, type Holder, type RuleAttributes } from "../lock-holders.js";
import { existence, judgeOwnership, ownershipOf, planOwnership, policyPathOf, presentButPromisedAbsent, type OwnershipWanted } from "../ownership.js";
import { judge, lstatOrUndefined, runningAsRoot, walk, type Rule } from "../../trust/strict-modes.js";
import { identityOf } from "../../probes/file-identity.js";

class ApprovedCopyRefusal extends Error {}
const APPROVED_COPY_RULE: Rule = { says: "as root, Covenant restores content only from an approved copy no other user can change", error: (m) => new ApprovedCopyRefusal(m) };
const APPROVED_ELSEWHERE = "keep approved copies in a directory only root can write, such as /var/lib/covenant/approved";

/**
 * Why root may not use the approved copy at `policyPath` (undefined when it may): what it holds
 * is what root writes over the promised file, so a copy another user can change (or reach through
 * a link or a directory of theirs) would let them write any file as root. The rule of root's own
 * state and policy (trust/strict-modes.ts). In a sandbox, the copy lies in the sandbox's own tree.
 */
function approvedCopyRefusal(policyPath: string, ctx: EvalContext): string | undefined {
  if (!runningAsRoot() || ctx.hostPath(policyPath) !== policyPath) return undefined;
  try {
    const at = walk(policyPath, { of: `the approved copy ${policyPath}`, elsewhere: APPROVED_ELSEWHERE, sticky: true, rule: APPROVED_COPY_RULE });
    const st = lstatOrUndefined(at, APPROVED_COPY_RULE);
    // what is not a regular file is for the read to refuse, saying what it is
    if (st?.isFile()) judge(st, `the approved copy ${policyPath}`, (why) => (why === "owner" ? `read it through, then \`chown root:root ${policyPath} && chmod go-w ${policyPath}\`` : `\`chmod go-w ${policyPath}\``), false, APPROVED_COPY_RULE);
    return undefined;
  } catch (err) {
    if (err instanceof ApprovedCopyRefusal) return err.message;
    throw err;
  }
}

interface ObservedFile {
  /** as the policy names it */
  path: string;
  hostPath: string;
  stat?: files.FileStat;
  /** the content's digest, when integrity or a baseline copy is promised */
  digest?: string;
  /** the content's sha256 as read (never keyed): the integrity state reuses it rather than read the file again */
  sha256?: string;
  /** the digest the content must have, and where that comes from */
  expectedDigest?: { digest: string; source: string };
  /** the processes holding locks on the file, when the promise judges lock holders */
  lockHolders?: Holder[];
}

interface ObservedFiles {
  pattern: string;
  files: ObservedFile[];
  /** the paths changed since approved (integrity promises): with `integrity`, their drift is judged */
  integrityFindings?: FileFinding[];
}

const lockRuleAttributes: RuleAttributes = { names: "locked_by", exes: "locked_by_exe", users: "locked_by_user" };

function algorithmOf(p: CheckedPromise): files.HashAlgorithm | undefined {
  return attr<files.HashAlgorithm>(p, "integrity") ?? (attr<string>(p, "baseline") !== undefined ? "sha256" : undefined);
}

async function observeFile(p: CheckedPromise, path: string, hostPath: string, ctx: EvalContext, notes: string[]): Promise<Observation<ObservedFile>> {
  const o: ObservedFile = { path, hostPath };
  const st = files.stat(hostPath);
  if (!st.ok) {
    if (st.error.code === "not-found") return { ok: true, value: o };
    return { ok: false, error: st.error.message };
  }
  o.stat = st.value;
  if (st.value.type !== "file") return { ok: true, value: o };
  const algorithm = algorithmOf(p);
  if (algorithm) {
    const limits: files.HashLimits = { signal: ctx.stop, expect: identityOf(st.value) };
    const maxHashSize = attr<number>(p, "max_hash_size");
    if (maxHashSize !== undefined) limits.maxBytes = maxHashSize;
    const h = await files.hash(hostPath, algorithm, limits);
    if (!h.ok) return { ok: false, error: h.error.message };
    o.digest = h.value.digest;
    if (algorithm === "sha256") o.sha256 = h.value.digest;
    const baselineCopy = attr<string>(p, "baseline");
    if (baselineCopy !== undefined) {
      const refused = approvedCopyRefusal(baselineCopy, ctx);
      if (refused) return { ok: false, error: refused };
      const b = await files.hash(ctx.hostPath(baselineCopy), algorithm, { signal: ctx.stop, ...(maxHashSize !== undefined ? { maxBytes: maxHashSize } : {}) });
      if (!b.ok) return { ok: false, error: `the approved copy cannot be read: ${b.error.message}` };
      o.expectedDigest = { digest: b.value.digest, source: `the approved copy ${baselineCopy}` };
    } else {
      const known = ctx.baselines.get(hostPath);
      // nodiff: the store keeps an HMAC of the digest under its key, never the digest (a digest
      // of a PIN is found by guessing); the content is compared keyed whenever either side is
      const secret = attr<boolean>(p, "nodiff") ?? false;
      if (known?.tampered) return { ok: false, error: `the stored baseline of ${path} was changed outside Covenant (its seal does not match); run \`covenant verify\`` };
      if (known && known.algorithm === algorithm) {
        if (secret || known.keyed) o.digest = ctx.baselines.keyDigest(o.digest);
        o.expectedDigest = { digest: known.keyed || !secret ? known.digest : ctx.baselines.keyDigest(known.digest), source: `the baseline of ${known.approvedAt}` };
      } else if (ctx.gate.dryRun) {
        // a preview never approves what it finds: the content is judged from the first real run
        notes.push(`${path}: no ${algorithm} baseline yet; a dry run approves none (the next run records the content it finds then)`);
      } else {
        const s = st.value;
        const digest = secret ? ctx.baselines.keyDigest(h.value.digest) : h.value.digest;
        ctx.baselines.set(hostPath, { algorithm, digest, size: s.size, mode: s.mode, uid: s.uid, gid: s.gid, mtimeMs: s.mtimeMs, approvedAt: ctx.now.toISOString(), ...(secret ? { keyed: true } : {}) });
        notes.push(`${path}: ${algorithm} baseline recorded (first observation)`);
      }
    }
  }
  const holderRules = rulesOf(p, lockRuleAttributes);
  if (hasRules(holderRules)) {
    const all = ctx.snapshot.locks();
    if (!all.ok) return { ok: false, error: `locks cannot be read: ${all.error.message}` };
    const mine = locksOnFile(all.value, hostPath);
    if (!mine.ok) return { ok: false, error: mine.error.message };
    const resolved = resolveHolders([...new Set(mine.value.filter((l) => !l.blocked).map((l) => l.pid))], holderRules, ctx);
    if (!resolved.ok) return { ok: false, error: `cannot tell who holds the locks on ${path}: ${resolved.error}` };
    o.lockHolders = [...resolved.holders.values()];
    const unknown = o.lockHolders.filter((h) => h.comm === undefined);
    if (unknown.length > 0) notes.push(`${path}: ${unknown.length === 1 ? "a lock has" : `${unknown.length} locks have`} no known holder (${unknown.map((h) => (h.pid < 0 ? "not given by the kernel" : `pid ${h.pid} has ended`)).join("; ")}): not judged`);
    notes.push(...deletedProgramNotes(o.lockHolders));
  }
  return { ok: true, value: o };
}

/** The kinds of change a `baseline` copy, or the promise's own `mode`, `owner` and `group`, judge instead of the approved state (integrity-drift.ts driftKinds). */
function ownedByTheCopy(p: CheckedPromise): ReadonlySet<ChangeKind> {
  const owned = new Set<ChangeKind>(ownedByThePromise(p));
  if (attr<string>(p, "baseline") === undefined) return owned;
  for (const k of repairs(p).includes("content") ? (["content", "mode", "owner", "group"] as const) : (["content"] as const)) owned.add(k);
  return owned;
}

/**
 * One `integrity` Difference per path: the content difference against the baseline stays as it
 * is when content is all that changed (its reason names the baseline and both digests); when
 * other attributes changed too, one Difference names them all, its `significant` both states.
 */
function mergeIntegrityDrift(diffs: Difference[], drift: Difference[]): void {
  for (const d of drift) {
    const i = diffs.findIndex((x) => x.attribute === "integrity" && x.subject === d.subject);
    if (i < 0) {
      diffs.push(d);
      continue;
    }
    const content = diffs[i]!;
    if (d.observed === "changed (content)") continue;
    diffs[i] = { ...d, expected: content.expected, observed: content.observed, significant: `${content.significant ?? ""}:${d.significant ?? ""}` };
  }
}

function short(digest: string): string {
  return digest.slice(0, 12);
}

export const fileBehaviour: PromiseBehaviour<ObservedFiles> = {
  async observe(p, ctx) {
    const pattern = p.promiser as string;
    const hostPattern = ctx.hostPath(pattern);
    const notes: string[] = [];
    const out: ObservedFiles = { pattern, files: [] };
    const paths = isGlob(pattern) ? expandGlob(hostPattern) : [hostPattern];
    for (const hostPath of paths) {
      const r = await observeFile(p, policyPathOf(hostPath, ctx), hostPath, ctx, notes);
      if (!r.ok) return r;
      // a glob names the files that exist; only a plain path can name a missing one
      if (r.value.stat || !isGlob(pattern)) out.files.push(r.value);
    }
    if (!isIntegrityPromise(p)) return { ok: true, value: out, notes };
    const targets = out.files.map((f) => ({ path: f.path, hostPath: f.hostPath, ...(f.stat && f.sha256 !== undefined ? { observed: { stat: f.stat, sha256: f.sha256 } } : {}) }));
    // a glob's files are a set: one it no longer names is deleted, a new one created (once approved)
    const integrity = isGlob(pattern) ? await checkIntegrity(p, ctx, [], [], [{ hostPattern, files: targets, policyPathOf: (h) => policyPathOf(h, ctx) }]) : await checkIntegrity(p, ctx, targets);
    notes.push(...integrity.notes);
    out.integrityFindings = integrity.findings;
    return { ok: true, value: out, notes, findings: integrity.findings };
  },

  judge(p, o, ctx) {
    const diffs: Difference[] = [];
    const exists = existence(p);
    if (exists === "absent") return presentButPromisedAbsent(o.files);
    if (o.files.length === 0 || o.files.every((f) => !f.stat)) {
      // "if present": nothing there is kept, unless an approved file has gone (integrity keeps what was approved)
      if (exists === "optional") return attr<string>(p, "integrity") !== undefined ? integrityDrift(o.integrityFindings, ctx, attr<boolean>(p, "nodiff") ?? false, ownedByTheCopy(p)) : [];
      const what = isGlob(o.pattern) ? `no file matches ${o.pattern}` : `${o.pattern} does not exist`;
      diffs.push({ subject: o.pattern, attribute: "exists", expected: "present", observed: "absent", reason: what });
      return diffs;
    }
    const wanted = ownershipOf(p);
    const maxSize = attr<number>(p, "max_size");
    const maxAge = attr<number>(p, "max_age");
    const holderRules = rulesOf(p, lockRuleAttributes);
    for (const f of o.files) {
      const st = f.stat!;
      if (st.type !== "file") {
        const what = st.type === "symlink" ? `a symbolic link to ${st.linkTarget}` : `a ${st.type}`;
        diffs.push({ subject: f.path, attribute: "type", expected: "file", observed: st.type, reason: `${f.path} is ${what}, not a regular file` });
        continue;
      }
      judgeOwnership(wanted, f.path, st, ctx, diffs);
      if (f.expectedDigest && f.digest !== f.expectedDigest.digest) {
        // a digest of a short secret (a PIN, a password) finds it by trying every guess: nodiff shows none
        const secret = attr<boolean>(p, "nodiff") ?? false;
        diffs.push({
          subject: f.path,
          attribute: "integrity",
          expected: secret ? "(withheld: nodiff)" : f.expectedDigest.digest,
          observed: secret ? "(withheld: nodiff)" : f.digest!,
          reason: `${f.path}: content differs from ${f.expectedDigest.source}${secret ? "" : ` (${short(f.expectedDigest.digest)}… → ${short(f.digest!)}…)`}`,
          // the state the store keeps to tell a second change from the first: keyed too for nodiff
          significant: secret ? ctx.baselines.keyDigest(f.digest!) : f.digest!,
        });
      }
      const maxLinks = attr<number>(p, "max_links");
      if (maxLinks !== undefined && st.nlink > maxLinks) {
        diffs.push({ subject: f.path, attribute: "max_links", expected: `at most ${maxLinks}`, observed: String(st.nlink), reason: `${f.path} has ${st.nlink} hard links, more than ${maxLinks}` });
      }
      if (maxSize !== undefined && st.size > maxSize) {
        diffs.push({ subject: f.path, attribute: "max_size", expected: `at most ${files.sizeText(maxSize)}`, observed: files.sizeText(st.size), reason: `${f.path} is ${files.sizeText(st.size)}, more than ${files.sizeText(maxSize)}` });
      }
      if (maxAge !== undefined && ctx.now.getTime() - st.mtimeMs > maxAge) {
        const hours = ((ctx.now.getTime() - st.mtimeMs) / 3_600_000).toFixed(1);
        diffs.push({
          subject: f.path,
          attribute: "max_age",
          expected: `modified within ${maxAge / 3_600_000}h`,
          observed: new Date(st.mtimeMs).toISOString(),
          reason: `${f.path} was last modified ${hours}h ago, longer than the ${maxAge / 3_600_000}h allowed`,
        });
      }
      for (const h of f.lockHolders ?? []) {
        const broken = brokenRule(h, holderRules, lockRuleAttributes, ctx);
        if (broken) diffs.push({ subject: f.path, attribute: broken.attribute, expected: broken.expected, observed: broken.observed, reason: `${f.path} is locked by ${holderText(h, holderRules, ctx)}, ${broken.why}` });
      }
    }
    if (attr<string>(p, "integrity") !== undefined) mergeIntegrityDrift(diffs, integrityDrift(o.integrityFindings, ctx, attr<boolean>(p, "nodiff") ?? false, ownedByTheCopy(p)));
    return diffs;
  },

  repair(p, o, differences, ctx) {
    const allowed = repairs(p);
    const out: Change[] = [];
    const wanted = ownershipOf(p);
    const baselineCopy = attr<string>(p, "baseline");
    for (const f of o.files) {
      const mine = differences.filter((d) => d.subject === f.path);
      if (allowed.includes("content") && baselineCopy !== undefined && mine.some((d) => d.attribute === "integrity" || d.attribute === "exists")) {
        // the restored file is a new one, made with the promised mode and owner: the old file's
        // perms are not repaired on their own (they would be an object about to be replaced)
        out.push(restoreChange(p, f, ctx.hostPath(baselineCopy), wanted, ctx));
        continue;
      }
      if (allowed.includes("perms") && f.stat) out.push(...planOwnership(wanted, f.hostPath, f.stat, differences, f.path, ctx));
    }
    return out;
  },
};

function restoreChange(p: CheckedPromise, f: ObservedFile, from: string, wanted: OwnershipWanted, ctx: EvalContext): Change {
  const c: Change = { op: "restore", path: f.hostPath, from, algorithm: algorithmOf(p) ?? "sha256", digest: f.expectedDigest?.digest };
  if (f.stat) c.expect = identityOf(f.stat);
  if (wanted.mode !== undefined) c.mode = wanted.mode;
  else if (wanted.maxMode !== undefined) c.maxMode = wanted.maxMode;
  const uid = wanted.owner !== undefined ? ctx.snapshot.uidOf(wanted.owner) : undefined;
  const gid = wanted.group !== undefined ? ctx.snapshot.gidOf(wanted.group) : undefined;
  if (uid !== undefined) {
    c.uid = uid;
    c.owner = wanted.owner!;
  }
  if (gid !== undefined) {
    c.gid = gid;
    c.group = wanted.group!;
  }
  return c;
}
