// A host that rotated its signing key (`covenant key rotate`) signs its next push with the new
// key. The hub knows only the old one; the push carries the rotation record, a statement signed
// by the old key (it hands over) and by the new (it accepts), as the host's chain keeps it
// (store/rotation.ts). The hub takes the new key only from such a record, chaining from the key it
// knows, in a push it then stores: one rotation after another in one push is followed to the end.
// A host with more records unsent than one push carries signs the pushes before the rotation's
// own with the new key too: those carry the rotation record ahead (PushBody.rotations), which
// vouches for the key that signs them, but puts no key in force (the record is stored later, in
// its place, and the key is taken then).
import type { PoolClient } from "pg";
import { rotationProblem } from "../../store/rotation.js";
import type { RotationBody } from "../../store/records.js";
import { audit } from "./audit.js";

export interface KeyRotation {
  /** the record that put the key in force */
  seq: number;
  raw: Buffer;
  fingerprint: string;
  from: string;
}

/** The key the push's rotation records put in force, and each step to it (a record and the key it puts in force). */
export interface RotationChain extends KeyRotation {
  steps: KeyRotation[];
}

/** The lines of a push body's records, then those of the rotation records it carries ahead; undefined when it is not JSON. */
function linesOf(raw: Buffer): unknown[] | undefined {
  try {
    const b = JSON.parse(raw.toString("utf8")) as { records?: unknown; rotations?: unknown };
    return [...(Array.isArray(b.records) ? b.records : []), ...(Array.isArray(b.rotations) ? b.rotations : [])];
  } catch {
    return undefined;
  }
}

/** The key the push's rotation records (its own, then those ahead) put in force, starting from the key the hub knows; undefined when there is none. */
export function rotationIn(raw: Buffer, known: string): RotationChain | undefined {
  const lines = linesOf(raw);
  if (!lines) return undefined;
  let inForce = known;
  const steps: KeyRotation[] = [];
  let prev = -1;
  for (const line of lines) {
    if (typeof line !== "string" || !line.includes('"rotation"')) continue;
    let r: { seq?: unknown; kind?: unknown; body?: unknown };
    try {
      r = JSON.parse(line) as typeof r;
    } catch {
      continue;
    }
    const body = r.body as RotationBody | undefined;
    // in the history's order only: a record ahead numbered below one in the push hands over nothing
    if (r.kind !== "rotation" || body?.key !== "signing" || !Number.isSafeInteger(r.seq) || (r.seq as number) <= prev) continue;
    if (body.old?.fingerprint !== inForce || rotationProblem(body) !== undefined) continue;
    prev = r.seq as number;
    steps.push({ seq: r.seq as number, raw: Buffer.from(body.new.publicKey, "base64"), fingerprint: body.new.fingerprint, from: known });
    inForce = body.new.fingerprint;
  }
  const last = steps.at(-1);
  return last ? { ...last, steps } : undefined;
}

/** Puts the rotated key in force for the host, in the push's transaction, in the audit log. */
export async function adoptRotatedKey(client: PoolClient, host: string, k: KeyRotation): Promise<void> {
  await client.query("UPDATE hub_hosts SET public_key = $2, fingerprint = $3 WHERE id = $1", [host, k.raw, k.fingerprint]);
  await audit(client, `host:${host}`, "host.key-rotated", `host:${host}`, { from: k.from, to: k.fingerprint, record: k.seq });
}
