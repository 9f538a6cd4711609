// A host that rotated its signing key (`covenant key rotate`) signs its next push with the new
// key. The hub knows only the old one; the push carries the rotation record, a statement signed
// by the old key (it hands over) and by the new (it accepts), as the host's chain keeps it
// (store/rotation.ts). The hub takes the new key only from such a record, chaining from the key it
// knows, in a push it then stores: one rotation after another in one push is followed to the end.
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

/** The key the push's rotation records put in force, starting from the key the hub knows; undefined when there is none. */
export function rotationIn(raw: Buffer, known: string): KeyRotation | undefined {
  let lines: unknown;
  try {
    lines = (JSON.parse(raw.toString("utf8")) as { records?: unknown }).records;
  } catch {
    return undefined;
  }
  if (!Array.isArray(lines)) return undefined;
  let inForce = known;
  let last: KeyRotation | undefined;
  for (const line of lines) {
    if (typeof line !== "string" || !line.includes('"rotation"')) continue;
    let r: { seq?: unknown; kind?: unknown; body?: unknown };
    try {
      r = JSON.parse(line) as typeof r;
    } catch {
      continue;
    }
    const body = r.body as RotationBody | undefined;
    if (r.kind !== "rotation" || body?.key !== "signing" || !Number.isSafeInteger(r.seq)) continue;
    if (body.old?.fingerprint !== inForce || rotationProblem(body) !== undefined) continue;
    last = { seq: r.seq as number, raw: Buffer.from(body.new.publicKey, "base64"), fingerprint: body.new.fingerprint, from: known };
    inForce = body.new.fingerprint;
  }
  return last;
}

/** Puts the rotated key in force for the host, in the push's transaction, in the audit log. */
export async function adoptRotatedKey(client: PoolClient, host: string, k: KeyRotation): Promise<void> {
  await client.query("UPDATE hub_hosts SET public_key = $2, fingerprint = $3 WHERE id = $1", [host, k.raw, k.fingerprint]);
  await audit(client, `host:${host}`, "host.key-rotated", `host:${host}`, { from: k.from, to: k.fingerprint, record: k.seq });
}
