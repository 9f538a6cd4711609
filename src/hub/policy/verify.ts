// A host's check of a policy version it fetched from the hub, with the hub's public key alone (the
// one the host kept when it enrolled): the signature over the statement's exact bytes, then every
// file against the statement (the same paths, each file's sha256), nothing more and nothing less.
// Only then is the policy written where the host runs it, and checked again as any policy is.
import { createHash, verify, type KeyObject } from "node:crypto";
import { policyPathProblem, type PolicyFileText } from "./check.js";
import { STATEMENT_FORMAT, type PolicyStatement, type SignedPolicy } from "./versions.js";

export type VerifiedPolicy = { statement: PolicyStatement; files: PolicyFileText[] } | { problem: string };

export function verifySignedPolicy(signed: unknown, hubKey: KeyObject): VerifiedPolicy {
  const s = signed as Partial<SignedPolicy> | null;
  if (typeof s !== "object" || s === null || typeof s.statement !== "string" || typeof s.signature !== "string" || !Array.isArray(s.files)) return { problem: "the hub's answer is not a signed policy" };
  const bytes = Buffer.from(s.statement, "utf8");
  let good = false;
  try {
    good = verify(null, bytes, hubKey, Buffer.from(s.signature, "base64"));
  } catch {
    good = false;
  }
  if (!good) return { problem: "the hub's signature over the policy does not hold with the hub key this host enrolled with" };
  let statement: PolicyStatement;
  try {
    statement = JSON.parse(s.statement) as PolicyStatement;
  } catch {
    return { problem: "the signed statement is not JSON" };
  }
  if (statement.format !== STATEMENT_FORMAT || statement.version !== 1 || !Array.isArray(statement.files)) return { problem: "the signed statement is not a policy statement this host reads" };
  const expected = new Map(statement.files.map((f) => [f.path, f.sha256]));
  if (expected.size !== statement.files.length || s.files.length !== expected.size) return { problem: "the policy's files are not exactly those the statement names" };
  const files: PolicyFileText[] = [];
  for (const f of s.files as unknown[]) {
    const file = f as Partial<PolicyFileText> | null;
    if (typeof file !== "object" || file === null || typeof file.path !== "string" || typeof file.text !== "string") return { problem: "a file of the policy is not { path, text }" };
    const bad = policyPathProblem(file.path);
    if (bad) return { problem: `the policy names a file the host will not write: ${bad}` };
    const want = expected.get(file.path);
    if (want === undefined) return { problem: `the policy's file ${JSON.stringify(file.path)} is not in the signed statement` };
    if (createHash("sha256").update(file.text, "utf8").digest("hex") !== want) return { problem: `the policy's file ${JSON.stringify(file.path)} is not the one the hub signed` };
    expected.delete(file.path);
    files.push({ path: file.path, text: file.text });
  }
  return { statement, files };
}
