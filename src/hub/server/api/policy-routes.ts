// Policy versions for people: an author publishes (the hub checks it as `covenant check` would;
// every error is answered, 422, and nothing is stored), an approver approves or rejects (never
// their own: separation of duties), everyone allowed reads the list. The work is policy/versions.ts.
import { AccessInputError } from "../../auth/users.js";
import { decideVersion, listVersions, publishVersion } from "../../policy/versions.js";
import type { PolicyFileText } from "../../policy/check.js";
import type { Answer, Call, Handler } from "./registry.js";

async function list(call: Call): Promise<Answer> {
  return { status: 200, body: { versions: await listVersions(call.deps.pool) } };
}

async function publish(call: Call): Promise<Answer> {
  const { files, message, group } = call.body as { files?: unknown; message?: unknown; group?: unknown };
  if (typeof message !== "string") throw new AccessInputError("message is what changed and why");
  if (group !== undefined && group !== null && (typeof group !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(group))) throw new AccessInputError("group is a host group's name");
  const r = await publishVersion(call.deps.pool, call.deps.key, { files: files as PolicyFileText[], message, author: call.principal!.name, group: (group as string | undefined) ?? null, approvalRequired: call.deps.approvalRequired, now: call.deps.now() });
  if ("refused" in r) throw new AccessInputError(r.refused);
  if ("problems" in r) return { status: 422, body: { status: "error", message: `the policy has ${r.problems.length} error${r.problems.length === 1 ? "" : "s"}: nothing was published`, problems: r.problems } };
  return { status: 201, body: { version: r.version } };
}

function decide(decision: "approved" | "rejected"): Handler {
  return async (call) => {
    const reason = call.body["reason"];
    if (reason !== undefined && typeof reason !== "string") throw new AccessInputError("reason is text");
    if (decision === "rejected" && (typeof reason !== "string" || reason.trim() === "")) throw new AccessInputError("a rejection says why (reason)");
    const r = await decideVersion(call.deps.pool, call.deps.key, { id: Number(call.params["policy"]), by: call.principal!.name, decision, ...(typeof reason === "string" ? { reason } : {}), now: call.deps.now() });
    if ("refused" in r) throw new AccessInputError(r.refused, 409);
    return { status: 200, body: { version: r.version } };
  };
}

export const policyHandlers: Record<string, Handler> = {
  "policies.list": list,
  "policies.publish": publish,
  "policies.approve": decide("approved"),
  "policies.reject": decide("rejected"),
};
