// Approved integrity states kept in memory: for an evaluation without a store (tests, a dry look).
import { createHmac, randomBytes } from "node:crypto";
import type { ApprovedEntry, ApprovedState, IntegrityStore } from "./contract.js";

export class MemoryIntegrity implements IntegrityStore {
  readonly map = new Map<string, ApprovedState>();
  private readonly key = randomBytes(32);
  private records = 0;

  approved(hostPath: string): ApprovedState | undefined {
    return this.map.get(hostPath);
  }

  approvedBelow(hostPath: string): string[] {
    const prefix = hostPath.endsWith("/") ? hostPath : `${hostPath}/`;
    return [...this.map.keys()].filter((p) => p.startsWith(prefix)).sort();
  }

  recordFirst(_promise: string, entries: { hostPath: string; entry: ApprovedEntry }[], at: string): void {
    const record = ++this.records;
    for (const { hostPath, entry } of entries) this.map.set(hostPath, { ...entry, approvedAt: at, record });
  }

  recordRepaired(promise: string, entries: { hostPath: string; entry: ApprovedEntry }[], at: string): void {
    this.recordFirst(promise, entries, at);
  }

  keyLine(line: string): string {
    return "hmac-sha256:" + createHmac("sha256", this.key).update(`masked line\n${line}`).digest("hex");
  }
}
