import { readdirSync } from "node:fs";
import { identityOf } from "../../probes/file-identity.js";
import * as files from "../../probes/files.js";
import type { Change } from "../change-gate.js";
import { attr, repairs, type Difference, type EvalContext, type Observation, type PromiseBehaviour } from "../contract.js";
import { expandGlob, isGlob } from "../glob-paths.js";
import type { FileFinding } from "../file-finding.js";
import { checkIntegrity, checkIntegrityOfEntries, isIntegrityPromise, type IntegrityTarget, type IntegrityTree } from "../integrity-check.js";
import type { PromiseMemory } from "../evaluation-memory.js";
import { focusPlan, levelBelow, sameRoots, walkOrder, type FocusPlan, type TreeMemo } from "../tree-focus.js";
import { integrityDrift, ownedByThePromise } from "../integrity-drift.js";
import { badNameEntry, entriesBelow, type ObservedEntry } from "../directory-walk.js";
import { chownTo, existence, judgeOwnership, ownershipOf, planOwnership, policyPathOf, presentButPromisedAbsent, type OwnershipWanted } from "../ownership.js";

interface ObservedDirectories {
  pattern: string;
  /** the promised directories (a missing plain path has no stat) */
  directories: ObservedEntry[];
  /** with `recurse`: everything below them */
  below: ObservedEntry[];
  /** entries whose names are not valid UTF-8 (each a difference: they cannot be judged) */
  badNames?: ObservedEntry[];
  /** the entries changed since approved (integrity promises): with `integrity`, their drift is judged */
  integrityFindings?: FileFinding[];
}

/** The difference an entry with a name not in UTF-8 is. */
function badNameDifference(e: ObservedEntry): Difference {
  const cut = e.path.lastIndexOf("/");
  // the bytes that were not UTF-8 were decoded as U+FFFD: shown as its escape, never as a glyph
  const where = `${e.path.slice(0, cut) || "/"}/${JSON.stringify(e.path.slice(cut + 1)).replace(/\uFFFD/g, "\\ufffd")}`;
  return { subject: where, attribute: "name", expected: "a name in UTF-8", observed: "not UTF-8", reason: `${where}: its name is not valid UTF-8, so it cannot be named, compared or repaired; rename or remove it` };
}

/**
 * The trees a realtime directory promise keeps to their approved state: with `recurse`, every
 * entry to `max_depth` (as observed); without, the directory and what is directly in it, which
 * is what the watcher watches.
 */
async function integrityTrees(p: Parameters<typeof attr>[0], o: ObservedDirectories, ctx: EvalContext): Promise<IntegrityTree[]> {
  const recurse = attr<boolean>(p, "recurse") ?? false;
  const maxDepth = recurse ? (attr<number>(p, "max_depth") ?? 16) : 1;
  const trees: IntegrityTree[] = [];
  for (const d of o.directories) {
    if (d.stat?.type !== "directory") continue;
    const prefix = d.hostPath.endsWith("/") ? d.hostPath : `${d.hostPath}/`;
    let entries = o.below.filter((e) => e.hostPath.startsWith(prefix));
    if (!recurse) {
      const direct: ObservedEntry[] = [];
      await entriesBelow(d.hostPath, 1, ctx, direct, []);
      entries = direct.filter((e) => !e.badName);
      o.badNames = [...(o.badNames ?? []), ...direct.filter((e) => e.badName)];
    }
    trees.push({ root: { path: d.path, hostPath: d.hostPath }, entries: entries.map(integrityTarget), maxDepth });
  }
  return trees;
}

/** An entry to compare, with what the walk saw of it (not observed again when unchanged). */
function integrityTarget(e: ObservedEntry): IntegrityTarget {
  return e.stat && e.ctimeMs !== undefined ? { path: e.path, hostPath: e.hostPath, seen: { stat: e.stat, ctimeMs: e.ctimeMs } } : { path: e.path, hostPath: e.hostPath };
}

/** Below a directory only owner, group and `max_mode` apply: files and subdirectories differ in mode. */
function belowWanted(w: OwnershipWanted): OwnershipWanted {
  const b: OwnershipWanted = {};
  if (w.owner !== undefined) b.owner = w.owner;
  if (w.group !== undefined) b.group = w.group;
  if (w.maxMode !== undefined) b.maxMode = w.maxMode;
  if (w.allowHardlinks) b.allowHardlinks = true;
  return b;
}

/**
 * The tree's unapproved changes: the promised directories' mode, owner and group are held to the
 * promise's own attributes when it states them, and with `recurse` the entries' owner, group and
 * `max_mode` too (what `repair = perms` sets them to), not to the approved state.
 */
function treeDrift(p: Parameters<typeof attr>[0], o: ObservedDirectories, ctx: EvalContext): Difference[] {
  const roots = new Set(o.directories.map((d) => d.path));
  const forRoots = new Set(ownedByThePromise(p));
  const forEntries = new Set(attr<boolean>(p, "recurse") ? ownedByThePromise(p, { modeAttributes: ["max_mode"] }) : []);
  const findings = o.integrityFindings ?? [];
  return [
    ...integrityDrift(findings.filter((f) => roots.has(f.path)), ctx, false, forRoots),
    ...integrityDrift(findings.filter((f) => !roots.has(f.path)), ctx, false, forEntries),
  ];
}

/** The entries below the roots that are not as they should be: a finding, or (with `recurse`) owner, group or `max_mode` not as promised. */
function wrongEntries(p: Parameters<typeof attr>[0], entries: readonly ObservedEntry[], findings: readonly FileFinding[], roots: ReadonlySet<string>, ctx: EvalContext): Set<string> {
  const wrong = new Set<string>();
  for (const f of findings) {
    const h = ctx.hostPath(f.path);
    if (!roots.has(h)) wrong.add(h);
  }
  if (!(attr<boolean>(p, "recurse") ?? false)) return wrong;
  const below = belowWanted(ownershipOf(p));
  for (const e of entries) {
    if (!e.stat || e.stat.type === "symlink") continue;
    const d: Difference[] = [];
    judgeOwnership(below, e.path, e.stat, ctx, d);
    if (d.length > 0) wrong.add(e.hostPath);
  }
  return wrong;
}

/** What a whole walk leaves for the focused evaluations after it (tree-focus.ts). */
function treeMemo(p: Parameters<typeof attr>[0], o: ObservedDirectories, trees: readonly IntegrityTree[], walkNotes: string[], ctx: EvalContext): TreeMemo {
  const roots = o.directories.filter((d) => d.stat?.type === "directory").map((d) => ({ hostPath: d.hostPath, ...identityOf(d.stat!) }));
  const entries = trees.flatMap((t) => t.entries.map((e) => ({ path: e.path, hostPath: e.hostPath, ...(e.seen ? { stat: e.seen.stat } : {}) })));
  const dirty = wrongEntries(p, o.below, o.integrityFindings ?? [], new Set(roots.map((r) => r.hostPath)), ctx);
  for (const b of o.badNames ?? []) dirty.add(b.hostPath);
  return { roots, dirty, linked: linkedFiles(entries), notes: walkNotes, walkedAt: ctx.now.toISOString() };
}

/** Regular files with more than one link (tree-focus.ts says why they are looked at every time). */
function linkedFiles(entries: readonly ObservedEntry[]): Set<string> {
  return new Set(entries.filter((e) => e.stat?.type === "file" && e.stat.nlink > 1).map((e) => e.hostPath));
}

/** The promised directories now, when they are the very directories the last whole walk saw (else undefined: walk whole). */
function sameDirectories(p: Parameters<typeof attr>[0], memo: TreeMemo, ctx: EvalContext): ObservedEntry[] | undefined {
  const pattern = p.promiser as string;
  const out: ObservedEntry[] = [];
  for (const hostPath of isGlob(pattern) ? expandGlob(ctx.hostPath(pattern)) : [ctx.hostPath(pattern)]) {
    const st = files.stat(hostPath);
    if (!st.ok) return undefined;
    if (st.value.type !== "directory") {
      if (isGlob(pattern)) continue;
      return undefined;
    }
    out.push({ path: policyPathOf(hostPath, ctx), hostPath, stat: st.value });
  }
  const now = out.map((d) => ({ hostPath: d.hostPath, ...identityOf(d.stat!) }));
  // a root never approved is approved whole, as first seen: that is a whole walk's work
  return sameRoots(memo.roots, now) && out.every((d) => ctx.integrity.approved(d.hostPath) !== undefined) ? out : undefined;
}

/** The entries of the plan as they are now: present (with a named directory's subtree), or gone (with what was approved below them). */
async function lookAgain(plan: FocusPlan, roots: readonly string[], maxDepth: number, ctx: EvalContext): Promise<{ present: ObservedEntry[]; absent: string[]; notes: string[] }> {
  const present = new Map<string, ObservedEntry>();
  const absent = new Set<string>();
  const notes: string[] = [];
  const within = (root: string, path: string) => (levelBelow(root, path) ?? Infinity) <= maxDepth;
  for (const hostPath of [...plan.look].sort(walkOrder)) {
    if (present.has(hostPath)) continue; // met in a subtree walked already
    const root = roots.find((r) => levelBelow(r, hostPath) !== undefined);
    if (root === undefined) continue;
    const bad = badNameEntry(hostPath, ctx);
    if (bad === "below") continue;
    if (bad) {
      // named by its event or kept as wrong: reported while a name so decoded is still listed
      if (stillListed(hostPath)) present.set(hostPath, bad);
      continue;
    }
    const st = files.stat(hostPath);
    if (!st.ok) {
      if (st.error.code === "not-found") {
        for (const gone of [hostPath, ...ctx.integrity.approvedBelow(hostPath)]) if (within(root, gone)) absent.add(gone);
      } else if (ctx.integrity.approved(hostPath) !== undefined) {
        // approved, and not to be reached by its path now (a link or a file in place of a directory
        // above it): compared by its path, as a whole walk compares what was approved and it did not meet
        absent.add(hostPath);
      } else notes.push(`${policyPathOf(hostPath, ctx)}: ${st.error.message}`);
      continue;
    }
    present.set(hostPath, { path: policyPathOf(hostPath, ctx), hostPath, stat: st.value });
    if (!plan.named.has(hostPath)) continue;
    if (st.value.type !== "directory") {
      // a directory replaced by a file or a link (renamed away, something else put in its place): what was approved below it is no longer there
      for (const gone of ctx.integrity.approvedBelow(hostPath)) if (within(root, gone)) absent.add(gone);
      continue;
    }
    // a directory an event named may have come with a subtree (moved in, made again): all of it, and what was approved below it and is gone
    const level = levelBelow(root, hostPath)!;
    const walked: ObservedEntry[] = [];
    if (level < maxDepth) await entriesBelow(hostPath, maxDepth - level, ctx, walked, notes);
    for (const e of walked) present.set(e.hostPath, e);
    for (const gone of ctx.integrity.approvedBelow(hostPath)) if (!present.has(gone) && within(root, gone)) absent.add(gone);
  }
  return { present: [...present.values()].sort((a, b) => walkOrder(a.hostPath, b.hostPath)), absent: [...absent].filter((h) => !present.has(h)).sort(), notes };
}

/** Whether the directory still lists an entry whose name decodes as the last part of `hostPath` (one not valid UTF-8 cannot be stat'ed by it). */
function stillListed(hostPath: string): boolean {
  const cut = hostPath.lastIndexOf("/");
  try {
    return readdirSync(hostPath.slice(0, cut) || "/").includes(hostPath.slice(cut + 1));
  } catch {
    return false;
  }
}

/**
 * The focused observation (tree-focus.ts): the roots, the entries events named and those found
 * wrong last time, as they are now; undefined when the tree must be walked whole.
 */
async function observeFocused(p: Parameters<typeof attr>[0], ctx: EvalContext, named: readonly string[], memory: PromiseMemory): Promise<Observation<ObservedDirectories> | undefined> {
  const memo = memory.last as TreeMemo | undefined;
  if (!memo) return undefined;
  const directories = sameDirectories(p, memo, ctx);
  if (!directories) return undefined;
  const recurse = attr<boolean>(p, "recurse") ?? false;
  const maxDepth = recurse ? (attr<number>(p, "max_depth") ?? 16) : 1;
  const roots = directories.map((d) => d.hostPath);
  const plan = focusPlan(named.map((n) => ctx.hostPath(n)), roots, maxDepth, memo);
  if (!plan) return undefined;
  const looked = await lookAgain(plan, roots, maxDepth, ctx);
  const badNames = looked.present.filter((e) => e.badName);
  const seen = { ...looked, present: looked.present.filter((e) => !e.badName) };
  // a file given another name since: its other names, which no event named, are found by a whole walk
  if (seen.present.some((e) => e.stat?.type === "file" && e.stat.nlink > 1 && !memo.linked.has(e.hostPath))) return undefined;
  const targets: IntegrityTarget[] = [...directories.map((d) => ({ path: d.path, hostPath: d.hostPath })), ...seen.present.map(integrityTarget), ...seen.absent.map((h) => ({ path: policyPathOf(h, ctx), hostPath: h }))];
  const integrity = await checkIntegrityOfEntries(p, ctx, targets);
  const o: ObservedDirectories = { pattern: p.promiser as string, directories, below: recurse ? seen.present : [], badNames, integrityFindings: integrity.findings };
  const linked = new Set([...memo.linked].filter((l) => !plan.look.has(l)));
  for (const l of linkedFiles(seen.present)) linked.add(l);
  const dirty = wrongEntries(p, seen.present, integrity.findings, new Set(roots), ctx);
  for (const b of badNames) dirty.add(b.hostPath);
  memory.keep({ ...memo, dirty, linked });
  const count = seen.present.length + seen.absent.length + badNames.length;
  const note = `${count} entr${count === 1 ? "y" : "ies"} looked at again (named by events, or not as they should be last time); the others as the whole walk at ${memo.walkedAt} found them, no event having named them since`;
  return { ok: true, value: o, notes: [...memo.notes, ...seen.notes, note, ...integrity.notes], findings: integrity.findings };
}

export const directoryBehaviour: PromiseBehaviour<ObservedDirectories> = {
  async observe(p, ctx) {
    if (ctx.focus && ctx.memory && isIntegrityPromise(p)) {
      const focused = await observeFocused(p, ctx, ctx.focus, ctx.memory);
      if (focused) return focused;
    }
    const pattern = p.promiser as string;
    const notes: string[] = [];
    const out: ObservedDirectories = { pattern, directories: [], below: [] };
    const paths = isGlob(pattern) ? expandGlob(ctx.hostPath(pattern)) : [ctx.hostPath(pattern)];
    for (const hostPath of paths) {
      const st = files.stat(hostPath);
      if (!st.ok && st.error.code !== "not-found") return { ok: false, error: st.error.message };
      if (!st.ok) {
        if (!isGlob(pattern)) out.directories.push({ path: pattern, hostPath });
        continue;
      }
      if (isGlob(pattern) && st.value.type !== "directory") continue;
      out.directories.push({ path: policyPathOf(hostPath, ctx), hostPath, stat: st.value });
      if (attr<boolean>(p, "recurse") && st.value.type === "directory") await entriesBelow(hostPath, attr<number>(p, "max_depth") ?? 16, ctx, out.below, notes);
    }
    if (out.below.some((e) => e.badName)) {
      out.badNames = out.below.filter((e) => e.badName);
      out.below = out.below.filter((e) => !e.badName);
    }
    if (!isIntegrityPromise(p)) return { ok: true, value: out, notes };
    const walkNotes = [...notes];
    const trees = await integrityTrees(p, out, ctx);
    const integrity = await checkIntegrity(p, ctx, [], trees);
    notes.push(...integrity.notes);
    out.integrityFindings = integrity.findings;
    ctx.memory?.keep(treeMemo(p, out, trees, walkNotes, ctx));
    return { ok: true, value: out, notes, findings: integrity.findings };
  },

  judge(p, o, ctx) {
    const diffs: Difference[] = [];
    const exists = existence(p);
    if (exists === "absent") return presentButPromisedAbsent(o.directories);
    if (o.directories.every((d) => !d.stat)) {
      // "if present": nothing there is kept, unless approved entries have gone (integrity keeps what was approved)
      if (exists === "optional") return attr<string>(p, "integrity") !== undefined ? treeDrift(p, o, ctx) : [];
      const what = isGlob(o.pattern) ? `no directory matches ${o.pattern}` : `${o.pattern} does not exist`;
      return [{ subject: o.pattern, attribute: "exists", expected: "present", observed: "absent", reason: what }];
    }
    const wanted = ownershipOf(p);
    for (const d of o.directories) {
      if (d.stat!.type !== "directory") {
        diffs.push({ subject: d.path, attribute: "type", expected: "directory", observed: d.stat!.type, reason: `${d.path} is a ${d.stat!.type}, not a directory` });
        continue;
      }
      judgeOwnership(wanted, d.path, d.stat!, ctx, diffs);
    }
    const below = belowWanted(wanted);
    for (const e of o.below) if (e.stat!.type !== "symlink") judgeOwnership(below, e.path, e.stat!, ctx, diffs);
    if (attr<string>(p, "integrity") !== undefined) diffs.push(...treeDrift(p, o, ctx));
    // last: what changed leads the reason, and an odd name cannot crowd it out
    for (const e of o.badNames ?? []) diffs.push(badNameDifference(e));
    return diffs;
  },

  repair(p, o, differences, ctx) {
    const allowed = repairs(p);
    const out: Change[] = [];
    const wanted = ownershipOf(p);
    for (const d of o.directories) {
      if (!d.stat) {
        // an optional directory that is not there is as promised: nothing to create
        if (allowed.includes("create") && existence(p) === "present") {
          // one change: the directory is given its owner through the descriptor of the
          // directory the gate created, never by its path afterwards
          const mkdir: Change = { op: "mkdir", path: d.hostPath };
          if (wanted.mode !== undefined) mkdir.mode = wanted.mode;
          const chown = chownTo(d.hostPath, wanted, ctx);
          if (chown?.op === "chown") Object.assign(mkdir, stripUndefined({ uid: chown.uid, gid: chown.gid, owner: chown.owner, group: chown.group }));
          out.push(mkdir);
        }
        continue;
      }
      if (allowed.includes("perms")) out.push(...planOwnership(wanted, d.hostPath, d.stat, differences, d.path, ctx));
    }
    if (allowed.includes("perms")) {
      const below = belowWanted(wanted);
      for (const e of o.below) out.push(...planOwnership(below, e.hostPath, e.stat!, differences, e.path, ctx));
    }
    return out;
  },
};

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
