// What `covenant integrity init` and `covenant approve` approve: the integrity promises are
// evaluated as a dry run (nothing repaired) against a store that reports the selected paths as
// never approved, so that the evaluator observes each of them exactly as a run compares it, and
// hands it over as first seen; the command then approves what was captured, in one record.
import type { ApprovedEntry, ApprovedState, IntegrityStore } from "./contract.js";

export class IntegrityCapture implements IntegrityStore {
  /** the states captured, by host path, and the promise (`type:promiser`) that saw each */
  readonly captured = new Map<string, { entry: ApprovedEntry; promise: string }>();

  constructor(
    private readonly real: IntegrityStore,
    /** whether a host path is one to approve */
    private readonly select: (hostPath: string) => boolean,
  ) {}

  approved(hostPath: string): ApprovedState | undefined {
    return this.select(hostPath) ? undefined : this.real.approved(hostPath);
  }

  approvedBelow(hostPath: string): string[] {
    return this.real.approvedBelow(hostPath);
  }

  approvedCopy(hostPath: string, record: number): { copy: import("../integrity/approved-copy.js").ApprovedCopy } | { none: string } {
    return this.real.approvedCopy?.(hostPath, record) ?? { none: "no approved copy kept" };
  }

  recordFirst(promise: string, entries: { hostPath: string; entry: ApprovedEntry }[]): void {
    for (const { hostPath, entry } of entries) if (this.select(hostPath)) this.captured.set(hostPath, { entry, promise });
  }

  keyLine(line: string): string {
    return this.real.keyLine(line);
  }

  /**
   * Approved paths to remove: approved below a captured directory, or named, selected, and not
   * there any more (an entry deleted from a tree, whose deletion is approved).
   */
  removed(named: readonly string[]): string[] {
    const out = new Set<string>();
    for (const [hostPath, { entry }] of this.captured) {
      if (entry.state.status !== "present" || entry.state.type !== "directory") continue;
      for (const below of this.real.approvedBelow(hostPath)) if (this.select(below) && !this.captured.has(below)) out.add(below);
    }
    for (const n of named) if (!this.captured.has(n) && this.real.approved(n) !== undefined) out.add(n);
    return [...out].sort();
  }
}
