// Which lines of two texts differ: a shortest edit script (Myers' O(ND) algorithm in its
// linear-space form, "An O(ND) Difference Algorithm and Its Variations", 1986), then each run of
// changed lines slid to the place `diff -u` shows it, so that the hunks read as GNU diff's do.
// Written here rather than taken from a package: the inputs are capped (diff.ts), and nothing
// else in Covenant needs a diff.

/** Per line of each text: 1 when the line is deleted (old) or inserted (new), 0 when kept. */
export interface LineChanges {
  deleted: Uint8Array;
  inserted: Uint8Array;
}

/**
 * The lines to delete from `a` and insert from `b` so that `a` becomes `b`, as few as possible.
 * Lines are compared as strings (a line's newline, when it has one, is part of it).
 */
export function diffLines(a: readonly string[], b: readonly string[]): LineChanges {
  // equal lines become equal numbers: comparing two numbers is cheaper than two strings
  const ids = new Map<string, number>();
  const id = (s: string) => {
    let n = ids.get(s);
    if (n === undefined) ids.set(s, (n = ids.size));
    return n;
  };
  const x = Int32Array.from(a, id);
  const y = Int32Array.from(b, id);
  const out: LineChanges = { deleted: new Uint8Array(x.length), inserted: new Uint8Array(y.length) };
  // A line with no equal on the other side is changed in every script: it is set aside before
  // the search (as GNU diff does), which makes the search smaller and picks, among equally
  // short scripts, the one diff picks.
  const [xs, ys] = [withoutUnmatched(x, y, out.deleted), withoutUnmatched(y, x, out.inserted)];
  const size = xs.ids.length + ys.ids.length + 2;
  const inner: LineChanges = { deleted: new Uint8Array(xs.ids.length), inserted: new Uint8Array(ys.ids.length) };
  const work: Work = { x: xs.ids, y: ys.ids, out: inner, forward: new Int32Array(2 * size + 1), backward: new Int32Array(2 * size + 1), offset: size };
  compare(work, 0, xs.ids.length, 0, ys.ids.length);
  inner.deleted.forEach((c, k) => (out.deleted[xs.at[k]!] = c));
  inner.inserted.forEach((c, k) => (out.inserted[ys.at[k]!] = c));
  slideRuns(x, out.deleted, y, out.inserted);
  slideRuns(y, out.inserted, x, out.deleted);
  return out;
}

/** The lines of `x` that have an equal in `y`, with their indices in `x`; the others are marked changed. */
function withoutUnmatched(x: Int32Array, y: Int32Array, changed: Uint8Array): { ids: Int32Array; at: Int32Array } {
  const inY = new Set(y);
  const at: number[] = [];
  x.forEach((v, i) => (inY.has(v) ? at.push(i) : (changed[i] = 1)));
  return { ids: Int32Array.from(at, (i) => x[i]!), at: Int32Array.from(at) };
}

interface Work {
  x: Int32Array;
  y: Int32Array;
  out: LineChanges;
  /** furthest x reached on each diagonal (k = x - y, stored at k + offset), forwards and backwards */
  forward: Int32Array;
  backward: Int32Array;
  offset: number;
}

/** Marks the changes between x[xLo, xHi) and y[yLo, yHi). */
function compare(w: Work, xLo: number, xHi: number, yLo: number, yHi: number): void {
  const { x, y } = w;
  for (; xLo < xHi && yLo < yHi && x[xLo] === y[yLo]; xLo++) yLo++;
  for (; xLo < xHi && yLo < yHi && x[xHi - 1] === y[yHi - 1]; xHi--) yHi--;
  if (xLo === xHi) {
    w.out.inserted.fill(1, yLo, yHi);
    return;
  }
  if (yLo === yHi) {
    w.out.deleted.fill(1, xLo, xHi);
    return;
  }
  // With common ends trimmed the script has at least two edits, so the middle snake leaves at
  // least one on each side of it: both halves are smaller, and the recursion ends.
  const [mx, my] = middleSnake(w, xLo, xHi, yLo, yHi);
  compare(w, xLo, mx, yLo, my);
  compare(w, mx, xHi, my, yHi);
}

/**
 * The middle snake of an optimal path from (xLo, yLo) to (xHi, yHi): its start and end, found by
 * searching from both corners at once until the two searches meet (Myers, section 4b).
 */
function middleSnake(w: Work, xLo: number, xHi: number, yLo: number, yHi: number): [number, number] {
  const { x, y, forward: f, backward: b, offset: o } = w;
  const n = xHi - xLo;
  const m = yHi - yLo;
  const delta = n - m;
  const odd = (delta & 1) !== 0;
  // f[o + k]: the furthest x (from xLo) reached on diagonal k = x - y; b[o + k]: the furthest
  // distance back from xHi on reversed diagonal k (forward diagonal delta - k); -1: not reached
  for (let d = 0; d <= Math.ceil((n + m) / 2); d++) {
    // from the highest diagonal down, as GNU diff searches: where several meet, the first found wins
    for (let k = d; k >= -d; k -= 2) {
      let px = furthest(f, o, k, d, n, m);
      f[o + k] = px;
      if (px < 0) continue;
      let py = px - k;
      for (; px < n && py < m && x[xLo + px] === y[yLo + py]; px++) py++;
      f[o + k] = px;
      const back = delta - k;
      if (odd && back >= -(d - 1) && back <= d - 1 && b[o + back]! >= 0 && px + b[o + back]! >= n) return [xLo + px, yLo + py];
    }
    for (let k = -d; k <= d; k += 2) {
      let px = furthest(b, o, k, d, n, m);
      b[o + k] = px;
      if (px < 0) continue;
      let py = px - k;
      for (; px < n && py < m && x[xHi - 1 - px] === y[yHi - 1 - py]; px++) py++;
      b[o + k] = px;
      const ahead = delta - k;
      if (!odd && ahead >= -d && ahead <= d && f[o + ahead]! >= 0 && px + f[o + ahead]! >= n) return [xHi - px, yHi - py];
    }
  }
  throw new Error("diffLines: the searches did not meet (cannot happen)");
}

/**
 * Where a path with one more edit starts on diagonal k: a step down from diagonal k + 1 or right
 * from k - 1, whichever goes further without leaving the n × m grid; -1 when neither can. Every
 * diagonal of the step is written (unreachable ones as -1), so no value of an earlier call is read.
 */
function furthest(v: Int32Array, o: number, k: number, d: number, n: number, m: number): number {
  if (d === 0) return 0;
  let best = -1;
  const down = k < d ? v[o + k + 1]! : -1;
  if (down >= 0 && down <= n && down - k <= m) best = down;
  const right = k > -d ? v[o + k - 1]! : -1;
  if (right >= 0 && right + 1 <= n && right + 1 - k <= m && right + 1 > best) best = right + 1;
  return best;
}

/**
 * Slides each run of changed lines of `x` (flags `cx`) up and down over equal lines, merging it
 * with runs it meets, and leaves it at the lowest place where it sits against a run of changes
 * in `y` (a replacement reads better than a deletion apart from its insertion), or else at the
 * lowest place it can reach: where `diff -u` puts it. The lines kept stay paired, in order,
 * with equal lines of `y`; the number of changes does not change.
 */
function slideRuns(x: Int32Array, cx: Uint8Array, y: Int32Array, cy: Uint8Array): void {
  const n = x.length;
  // yKept[u]: the index in y of its u-th kept line, the partner of x's u-th kept line
  const yKept: number[] = [];
  for (let j = 0; j < y.length; j++) if (!cy[j]) yKept.push(j);
  const againstChange = (u: number) => {
    const p = u < yKept.length ? yKept[u]! : y.length;
    return p > 0 && cy[p - 1] === 1;
  };
  let kept = 0;
  for (let i = 0; i < n; ) {
    if (!cx[i]) {
      i++;
      kept++;
      continue;
    }
    let start = i;
    let end = i;
    while (end < n && cx[end]) end++;
    // `kept`: x's kept lines before the run; the run's end is against y's change when the
    // partner of the next kept line follows a changed line of y
    let length: number;
    let against: number;
    do {
      length = end - start;
      while (start > 0 && x[start - 1] === x[end - 1]) {
        cx[--start] = 1;
        cx[--end] = 0;
        kept--;
        while (start > 0 && cx[start - 1]) start--;
      }
      against = againstChange(kept) ? end : -1;
      while (end < n && x[start] === x[end]) {
        cx[start++] = 0;
        cx[end++] = 1;
        kept++;
        while (end < n && cx[end]) end++;
        if (againstChange(kept)) against = end;
      }
    } while (length !== end - start);
    while (against !== -1 && end > against) {
      cx[--start] = 1;
      cx[--end] = 0;
      kept--;
    }
    i = end;
  }
}
