// Administering users over the API (administrators only, rules.ts): list, create, grant, take a
// grant back, disable. The work and its audit entries are in auth/users.ts, shared with the CLI.
import { addGrant, AccessInputError, createUser, disableUser, grantText, listUsers, revokeGrant, type GrantInput } from "../../auth/users.js";
import type { Answer, Call, Handler } from "./registry.js";

function grantInputs(v: unknown): GrantInput[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > 50) throw new AccessInputError("grants is a list of { role, scope }");
  return v.map((g) => grantInput(g));
}

function grantInput(g: unknown): GrantInput {
  if (typeof g !== "object" || g === null) throw new AccessInputError("a grant is { role, scope }");
  const { role, scope } = g as Record<string, unknown>;
  if (typeof role !== "string" || (scope !== undefined && scope !== null && typeof scope !== "string")) throw new AccessInputError("a grant is { role, scope }");
  return { role, scope: typeof scope === "string" ? scope : undefined };
}

async function usersList(call: Call): Promise<Answer> {
  return { status: 200, body: { users: await listUsers(call.deps.pool) } };
}

async function usersCreate(call: Call): Promise<Answer> {
  const { name, displayName, password, grants } = call.body;
  if (typeof name !== "string" || typeof password !== "string" || (displayName !== undefined && typeof displayName !== "string")) throw new AccessInputError("give name, password, and optionally displayName and grants");
  const made = await createUser(call.deps.pool, { name, displayName: displayName as string | undefined, password, grants: grantInputs(grants) }, call.principal!.name);
  return { status: 201, body: { status: "ok", user: made.name } };
}

async function usersGrant(call: Call): Promise<Answer> {
  const g = await addGrant(call.deps.pool, call.params["user"]!, grantInput(call.body), call.principal!.name);
  return { status: 201, body: { status: "ok", grant: { id: g.id, grant: grantText(g) } } };
}

async function usersRevokeGrant(call: Call): Promise<Answer> {
  await revokeGrant(call.deps.pool, call.params["user"]!, Number(call.params["grant"]), call.principal!.name);
  return { status: 200, body: { status: "ok" } };
}

async function usersDisable(call: Call): Promise<Answer> {
  const reason = call.body["reason"];
  if (typeof reason !== "string" || reason.trim() === "" || reason.length > 500) throw new AccessInputError("give a reason (kept in the hub's audit log)");
  await disableUser(call.deps.pool, call.params["user"]!, call.principal!.name, reason);
  return { status: 200, body: { status: "ok" } };
}

export const userHandlers: Record<string, Handler> = {
  "users.list": usersList,
  "users.create": usersCreate,
  "users.grant": usersGrant,
  "users.revoke-grant": usersRevokeGrant,
  "users.disable": usersDisable,
};
