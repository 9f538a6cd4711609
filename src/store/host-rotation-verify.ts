// `verify` for the rotations of the host key (host-rotation.ts): the schedule holds (every
// retired key there and the one its rotation names), names exactly the host rotation records the
// history holds, and each of those holds: its old key is the key that MACs it, its new key the one
// that MACs the records after it, `accepted` verifies under the new key, and each hands over from
// the key the one before put in force. A retired key missing is said before the chain's problems
// (not as a chain that breaks); a rotation record's own problems after them, as other records' are.
import { hostKeyId } from "./deficiencies.js";
import type { HostKeys, ScheduledRotation } from "./host-keys.js";
import { acceptance } from "./host-rotation.js";
import type { Tampering } from "./ledger.js";
import type { HostRotationBody } from "./records.js";
import { FirstProblem, type RecordView } from "./row-check.js";

function isHostRotation(b: Partial<HostRotationBody>): b is HostRotationBody {
  return b.key === "host" && typeof b.at === "string" && typeof b.old?.id === "string" && typeof b.new?.id === "string" && typeof b.reason === "string" && typeof b.by === "string" && typeof b.user === "string" && (b.loginUid === null || typeof b.loginUid === "number") && typeof b.accepted === "string";
}

/** `cutSeq`: a prune removes rotation records at or below its cut with the rest (they are in its pack). */
export class HostRotationCheck extends FirstProblem {
  private readonly scheduled: Map<number, ScheduledRotation>;
  private inForce: string | undefined;

  constructor(
    private readonly keys: HostKeys,
    private readonly cutSeq = 0,
  ) {
    super();
    this.scheduled = new Map(keys.rotations.map((r) => [r.seq, r]));
  }

  /** A retired key missing or wrong: said before the chain's problems, which it would otherwise look like. */
  keysProblem(): Tampering | undefined {
    const p = this.keys.problem;
    return p ? { kind: "altered", seq: p.seq, message: p.message } : undefined;
  }

  protected check(v: RecordView): Tampering | undefined {
    const r = v.row;
    if (r.kind !== "rotation") return undefined;
    const b = v.json() as Partial<HostRotationBody> | null | undefined;
    if (typeof b !== "object" || b === null || b.key !== "host") return undefined;
    if (!isHostRotation(b)) return { kind: "altered", seq: r.seq, message: `rotation record ${r.seq} is not a rotation of the host key as Covenant writes it` };
    const s = this.scheduled.get(r.seq);
    if (!s || s.old !== b.old.id || s.new !== b.new.id) return { kind: "altered", seq: r.seq, message: `rotation record ${r.seq} of the host key is not the one the store's key schedule names: the schedule was edited` };
    this.scheduled.delete(r.seq);
    if (this.inForce !== undefined && b.old.id !== this.inForce) return { kind: "altered", seq: r.seq, message: `rotation record ${r.seq} hands the host key over from ${b.old.id}, but the rotation before it put ${this.inForce} in force: the rotations do not chain` };
    const next = this.keys.at(r.seq + 1);
    if (hostKeyId(this.keys.at(r.seq)) !== b.old.id || hostKeyId(next) !== b.new.id) return { kind: "altered", seq: r.seq, message: `rotation record ${r.seq} names host keys (${b.old.id} → ${b.new.id}) that are not the ones in force before and after it` };
    const { accepted, ...rest } = b;
    if (acceptance(next, rest) !== accepted) return { kind: "altered", seq: r.seq, message: `rotation record ${r.seq}: the new host key's acceptance does not verify over the rotation's statement: it was forged` };
    this.inForce = b.new.id;
    return undefined;
  }

  override result(): Tampering | undefined {
    if (this.found) return this.found;
    for (const s of this.scheduled.values()) if (s.seq > this.cutSeq) return { kind: "deleted", seq: s.seq, message: `the store's key schedule names a rotation of the host key in record ${s.seq}, which the history does not hold: it was deleted` };
    return undefined;
  }
}
