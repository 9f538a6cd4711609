// What a long-running evaluator (the watcher) remembers of each promise between two evaluations,
// so that an evaluation asked for by events can look at what they named instead of everything:
// a directory promise's tree is walked whole once, and afterwards only the entries an event
// named, and those found wrong last time, are looked at again (tree-focus.ts). The memory is the
// watcher's alone and lives as long as the policy it was made for: a reload starts a new one.
// A promise whose evaluation failed, timed out or was not observed is forgotten, so its next
// evaluation is whole.

/** One promise's memory: what its type kept of its last evaluation. */
export interface PromiseMemory {
  readonly last: unknown;
  keep(value: unknown): void;
  forget(): void;
}

export class EvaluationMemory {
  private readonly kept = new Map<string, unknown>();

  of(key: string): PromiseMemory {
    const kept = this.kept;
    return {
      get last() {
        return kept.get(key);
      },
      keep: (value) => void kept.set(key, value),
      forget: () => void kept.delete(key),
    };
  }

  /** every promise evaluated whole next time (the watcher was blind for a while, or the store changed under it) */
  clear(): void {
    this.kept.clear();
  }
}
