// The host key's schedule: which key MACs which record. The chain is append-only, so a rotation of
// the host key (`covenant key rotate --host`, host-rotation.ts) rewrites nothing: records up to the
// rotation record stay MAC'd with the key in force when they were written, and every record after
// it with the new one. The keys retired by rotations are kept in `host.key.retired` beside the key
// (0600, root's, never followed through a link), one line each: the rotation record's number and
// the key it retired. The schedule itself (each rotation's record and the ids of its old and new
// key) is kept in `meta` (`host_rotations`), so a run reads it without walking the history;
// `verify` holds it to the rotation records in the chain (host-rotation.ts).
//
// A key is never written to output, a record or an error message: only its id (hostKeyId).
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { hostKeyId } from "./deficiencies.js";
import { StoreError } from "./errors.js";
import { readHostKey } from "./host-key.js";
import { readRegularFile } from "./safe-files.js";
import { keyProblem } from "./trust.js";
import { readMeta, writeMeta } from "./meta.js";

/** A rotation as the schedule keeps it: its record's number, and the ids of the key it retired and the key it put in force. */
export interface ScheduledRotation {
  seq: number;
  old: string;
  new: string;
}

/** The key in force up to and including record `through` (undefined: not in host.key.retired). */
interface Era {
  through: number;
  key: Buffer | undefined;
  id: string;
}

/**
 * Stands for a retired key that cannot be found: nothing MAC'd with it verifies (verify says why
 * first). Made at its first use, never when the module loads: a start-up snapshot would keep one
 * key for every run, readable in the snapshot's file.
 */
let unknownKey: Buffer | undefined;
const unknown = (): Buffer => (unknownKey ??= randomBytes(32));

export class HostKeys {
  private constructor(
    private readonly eras: readonly Era[],
    /** the key in force: what every new record, seal and anchor is made with */
    readonly current: Buffer,
    /** why the schedule cannot vouch for every record (a retired key missing or not the one its rotation names), or undefined */
    readonly problem: { seq: number; message: string } | undefined,
    /**
     * the key a rotation retired, when its record is committed but it did not finish (host.key.next
     * still waits): ledger.head may still be sealed with it
     */
    readonly unfinished: Buffer | undefined,
    readonly rotations: readonly ScheduledRotation[],
  ) {}

  /** A store that never rotated its key. */
  static single(key: Buffer): HostKeys {
    return new HostKeys([], key, undefined, undefined, []);
  }

  /** The key that MACs record `seq`. */
  at(seq: number): Buffer {
    for (const e of this.eras) if (seq <= e.through) return e.key ?? unknown();
    return this.current;
  }

  /** Why record `seq` cannot be verified whatever it holds (the key it was MAC'd with is not kept), or undefined. */
  unverifiable(seq: number): string | undefined {
    const era = this.eras.find((e) => seq <= e.through);
    return era && era.key === undefined ? `the host key it was MAC'd with (retired by the rotation in record ${era.through}) is not in host.key.retired: it cannot be verified` : undefined;
  }

  /** firstId, once computed: it is an HMAC, and a report over a year asks for it once per episode (~70,000 times, ~0.4 s) */
  private firstIdKept: string | undefined;

  /** The id of the store's first key: deficiency ids are made with it, so they stay the same across rotations. */
  get firstId(): string {
    return (this.firstIdKept ??= this.eras[0]?.id ?? hostKeyId(this.current));
  }

  /** Every key known, the one in force first, then the retired ones, newest first. */
  get all(): Buffer[] {
    const retired = this.eras.map((e) => e.key).filter((k): k is Buffer => k !== undefined);
    return [this.current, ...retired.reverse()];
  }

  /** The schedule after one more rotation, in record `seq`, to `next`. */
  rotated(seq: number, next: Buffer): HostKeys {
    const rotation = { seq, old: hostKeyId(this.current), new: hostKeyId(next) };
    return new HostKeys([...this.eras, { through: seq, key: this.current, id: rotation.old }], next, this.problem, undefined, [...this.rotations, rotation]);
  }

  /**
   * The schedule of the store in `dir`: `current` is the key in host.key (or COVENANT_HOST_KEY_FILE),
   * `pending` the key in host.key.next, if any. A pending key the last rotation names is the key in
   * force (the rotation was committed and had not finished); one no rotation names is not used.
   */
  static load(db: Database.Database, dir: string, current: Buffer, pending?: Buffer): HostKeys {
    const rotations = scheduleOf(db);
    if (rotations.length === 0) return HostKeys.single(current);
    const last = rotations.at(-1)!;
    let inForce = current;
    let unfinished: Buffer | undefined;
    // only the key that rotation retired beside it: a host.key replaced outside Covenant is never filed as retired
    if (pending && hostKeyId(pending) === last.new && hostKeyId(current) === last.old) {
      inForce = pending;
      unfinished = current;
    }
    const { keys: retired, problem: unreadable } = readRetired(dir);
    if (unfinished && !retired.has(last.seq)) retired.set(last.seq, unfinished);
    let problem: HostKeys["problem"] = unreadable === undefined ? undefined : { seq: 0, message: unreadable };
    const eras: Era[] = rotations.map((r) => {
      const key = retired.get(r.seq);
      if (!key) problem ??= { seq: r.seq, message: `the host key in force up to record ${r.seq} (the one the rotation in record ${r.seq} retired, id ${r.old}) is not in host.key.retired: records up to ${r.seq} cannot be verified; restore host.key.retired from its backup` };
      else if (hostKeyId(key) !== r.old) problem ??= { seq: r.seq, message: `the key host.key.retired keeps for record ${r.seq} is not the one the rotation in record ${r.seq} retired (id ${r.old}): records up to ${r.seq} cannot be verified; restore host.key.retired from its backup` };
      return { through: r.seq, key: key && hostKeyId(key) === r.old ? key : undefined, id: r.old };
    });
    if (hostKeyId(inForce) !== last.new) problem ??= { seq: last.seq, message: `the host key is not the one the rotation in record ${last.seq} put in force (id ${last.new}): it was replaced outside Covenant; restore it from its backup` };
    return new HostKeys(eras, inForce, problem, unfinished, rotations);
  }
}

const SCHEDULE_KEY = "host_rotations";

/** The rotations the store's schedule names, oldest first; none when it holds none (or one not as Covenant writes it: verify finds the records it misses). */
export function scheduleOf(db: Database.Database): ScheduledRotation[] {
  const text = readMeta(db, SCHEDULE_KEY);
  if (typeof text !== "string") return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const out: ScheduledRotation[] = [];
  for (const r of value as Partial<ScheduledRotation>[]) {
    // a rotation is a record of the history: number 1 or later (an entry at 0 would name a key before every record)
    if (typeof r !== "object" || r === null || !Number.isSafeInteger(r.seq) || r.seq! < 1 || typeof r.old !== "string" || typeof r.new !== "string") return [];
    if (out.length > 0 && r.seq! <= out.at(-1)!.seq) return [];
    out.push({ seq: r.seq!, old: r.old, new: r.new });
  }
  return out;
}

/** Writes the schedule (inside the rotation's transaction). */
export function writeSchedule(db: Database.Database, rotations: readonly ScheduledRotation[]): void {
  writeMeta(db, SCHEDULE_KEY, JSON.stringify(rotations));
}

/** Where the keys rotations retired are kept: always in the state directory. */
export function retiredPath(dir: string): string {
  return join(dir, "host.key.retired");
}

/** At most this many bytes: a line is about 80, so some hundreds of rotations. */
export const MAX_RETIRED_BYTES = 65536;

/** The text of host.key.retired ("" when absent), judged as the host key is (as root: root's, 0600, one name). */
export function readRetiredText(dir: string): string {
  const path = retiredPath(dir);
  return readRegularFile(path, "the retired host keys", MAX_RETIRED_BYTES, (st) => keyProblem(`the retired host keys ${path}`, path, st)) ?? "";
}

/**
 * The retired keys by the number of the rotation record that retired them, and why a line is not
 * one (a run does not need them: only `verify` and `history` say it).
 */
function readRetired(dir: string): { keys: Map<number, Buffer>; problem?: string } {
  const keys = new Map<number, Buffer>();
  let problem: string | undefined;
  readRetiredText(dir)
    .split("\n")
    .forEach((line, i) => {
      if (line === "") return;
      const m = /^(\d{1,15}) ([0-9a-f]{64})$/.exec(line);
      // the key itself is never quoted: only where the line is
      if (!m) problem ??= `the retired host keys ${retiredPath(dir)} are not as Covenant writes them (line ${i + 1} is not a record number and a key): restore the file from its backup`;
      else keys.set(Number(m[1]), Buffer.from(m[2]!, "hex"));
    });
  return problem === undefined ? { keys } : { keys, problem };
}

/** The key waiting in host.key.next, or undefined when there is none. */
export function readPendingKey(keyPath: string): Buffer | undefined {
  try {
    return readHostKey(pendingHostKeyPath(keyPath), false);
  } catch (err) {
    if (err instanceof StoreError && /ENOENT/.test(err.message)) return undefined;
    throw err;
  }
}

export function pendingHostKeyPath(keyPath: string): string {
  return `${keyPath}.next`;
}
