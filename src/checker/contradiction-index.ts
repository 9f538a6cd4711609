// Contradictions found again after an edit without indexing the whole policy again: the index of
// promises by type and promiser (contradictions.ts builds it afresh at every check) is kept
// from one check to the next (CheckMemo keeps it, a language server one per folder); the
// controls checked again leave it and come in again, those taken again stay. The comparisons
// are then those of the keys that two promises or more name, and of the globs, made in the
// order findContradictions makes them (by the place of the promises in the policy), so that
// the same diagnostics come out in the same order: its result, exactly
// (test/lsp/reuse.test.ts holds the two against each other).
import type { SourceFile } from "../parser/ast.js";
import type { Diagnostic } from "../parser/diagnostics.js";
import { compare, keyedOf, type Keyed, type PromiseEntry } from "./contradictions.js";
import type { CheckedControl } from "./policy.js";

interface Group {
  exact: Map<string, Keyed[]>;
  /** keys named twice or more: the only ones whose promises are compared with each other */
  shared: Set<string>;
  globs: Set<Keyed>;
}

/** A comparison to make, and where it comes in findContradictions' order. */
interface Comparison {
  order: number[];
  a: Keyed;
  b: Keyed;
}

export class ContradictionIndex {
  private readonly groups = new Map<string, Group>();
  /** what each control's promises put in the index */
  private readonly byControl = new Map<CheckedControl, Keyed[]>();

  clear(): void {
    this.groups.clear();
    this.byControl.clear();
  }

  /** What findContradictions(entries) reports, in its order; `files` in the policy's order. */
  find(entries: PromiseEntry[], files: SourceFile[], diagnostics: Diagnostic[]): void {
    this.update(entries);
    const rank = new Map(files.map((f, i) => [f.path, i]));
    const place = (k: Keyed): number[] => [rank.get(k.entry.promise.span.file) ?? -1, k.entry.promise.span.start, k.index];
    const comparisons: Comparison[] = [];
    for (const group of this.groups.values()) {
      for (const key of group.shared) {
        const list = inOrder(group.exact.get(key)!, place);
        const first = place(list[0]!);
        for (let i = 1; i < list.length; i++) for (let j = 0; j < i; j++) comparisons.push({ order: [0, ...first, i, j], a: list[j]!, b: list[i]! });
      }
      if (group.globs.size === 0) continue;
      const globs = inOrder([...group.globs], place);
      for (const [path, known] of group.exact) {
        let list: Keyed[] | undefined;
        for (let g = 0; g < globs.length; g++) {
          const glob = globs[g]!;
          if (glob.key === path || !glob.pattern!.test(path)) continue;
          list ??= inOrder(known, place);
          const first = place(list[0]!);
          for (let e = 0; e < list.length; e++) comparisons.push({ order: [1, ...first, g, e], a: glob, b: list[e]! });
        }
      }
    }
    comparisons.sort((x, y) => lexical(x.order, y.order));
    const reported = new Set<string>();
    for (const c of comparisons) compare(c.a, c.b, diagnostics, reported);
  }

  /** The controls no longer in the policy (or checked again) leave the index; the new ones come in. */
  private update(entries: PromiseEntry[]): void {
    const present = new Set<CheckedControl>();
    let control: CheckedControl | undefined;
    let added: Keyed[] | undefined;
    // a control's entries come together: one look-up for each control, not for each promise
    for (const entry of entries) {
      if (entry.control !== control) {
        control = entry.control;
        present.add(control);
        added = this.byControl.has(control) ? undefined : [];
        if (added) this.byControl.set(control, added);
      }
      if (added === undefined) continue;
      for (const k of keyedOf(entry) ?? []) {
        this.add(k);
        added.push(k);
      }
    }
    for (const [c, keyed] of this.byControl) {
      if (present.has(c)) continue;
      for (const k of keyed) this.remove(k);
      this.byControl.delete(c);
    }
  }

  private add(k: Keyed): void {
    const type = k.entry.promise.type;
    let group = this.groups.get(type);
    if (!group) this.groups.set(type, (group = { exact: new Map(), shared: new Set(), globs: new Set() }));
    const list = group.exact.get(k.key);
    if (list === undefined) group.exact.set(k.key, [k]);
    else {
      list.push(k);
      group.shared.add(k.key);
    }
    if (k.pattern) group.globs.add(k);
  }

  private remove(k: Keyed): void {
    const group = this.groups.get(k.entry.promise.type)!;
    const list = group.exact.get(k.key)!;
    list.splice(list.indexOf(k), 1);
    if (list.length === 0) group.exact.delete(k.key);
    if (list.length < 2) group.shared.delete(k.key);
    group.globs.delete(k);
  }
}

/** The records in the order of their promises in the policy (a list is sorted in place: the order of an index's list is its own). */
function inOrder(list: Keyed[], place: (k: Keyed) => number[]): Keyed[] {
  if (list.length > 1) list.sort((x, y) => lexical(place(x), place(y)));
  return list;
}

function lexical(x: number[], y: number[]): number {
  for (let i = 0; i < x.length && i < y.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}
