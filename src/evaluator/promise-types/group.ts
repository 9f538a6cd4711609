import { membersOf } from "../../probes/accounts.js";
import { attr, type Difference, type PromiseBehaviour } from "../contract.js";
import { counted, skipNotes } from "../observation-notes.js";

type GroupObservation =
  | { exists: false }
  | {
      exists: true;
      gid: number;
      /** sorted; listed in /etc/group or having the group as their primary group */
      members: string[];
      /** members only through their primary group in /etc/passwd (easy to overlook in /etc/group) */
      primaryOnly: string[];
    };

function quoted(names: string[]): string {
  return names.length === 0 ? "nobody" : names.join(", ");
}

/** Behaviour: reported only; membership changes go through access management. */
export const groupBehaviour: PromiseBehaviour<GroupObservation> = {
  observe(p, ctx) {
    const a = ctx.snapshot.accounts();
    if (!a.ok) return { ok: false, error: `cannot read the local accounts: ${a.error.message}` };
    const notes = skipNotes(a.skipped);
    const name = p.promiser as string;
    const group = a.value.groups.find((g) => g.name === name);
    if (!group) return { ok: true, value: { exists: false }, notes };
    const members = membersOf(group, a.value.users);
    const primaryOnly = members.filter((m) => !group.members.includes(m));
    return { ok: true, value: { exists: true, gid: group.gid, members, primaryOnly }, notes };
  },

  judge(p, observed) {
    const name = p.promiser as string;
    const mustExist = attr<boolean>(p, "exists") ?? true;
    if (!observed.exists) {
      // nobody can be in a group that does not exist: the membership promises hold vacuously
      if (!mustExist) return [];
      return [{ attribute: "exists", expected: "exists", observed: "does not exist", reason: `group ${name} does not exist` }];
    }
    const out: Difference[] = [];
    if (!mustExist) out.push({ attribute: "exists", expected: "does not exist", observed: `exists (gid ${observed.gid})`, reason: `group ${name} exists (gid ${observed.gid}), promised not to` });
    const how = (user: string) => (observed.primaryOnly.includes(user) ? " (as primary group)" : "");
    const allowed = attr<string[]>(p, "allowed");
    if (allowed) {
      for (const user of observed.members.filter((m) => !allowed.includes(m))) {
        out.push({
          subject: user,
          attribute: "allowed",
          expected: `only ${quoted(allowed)}`,
          observed: "member",
          reason: `group ${name}: ${user} is a member${how(user)}, not among the allowed (${quoted(allowed)})`,
        });
      }
    }
    for (const user of attr<string[]>(p, "required") ?? []) {
      if (!observed.members.includes(user)) out.push({ subject: user, attribute: "required", expected: "member", observed: "not a member", reason: `group ${name}: ${user} is not a member, required` });
    }
    for (const user of attr<string[]>(p, "forbidden") ?? []) {
      if (observed.members.includes(user)) out.push({ subject: user, attribute: "forbidden", expected: "not a member", observed: "member", reason: `group ${name}: ${user} is a member${how(user)}, forbidden` });
    }
    const max = attr<number>(p, "max_members");
    if (max !== undefined && observed.members.length > max) {
      out.push({
        attribute: "max_members",
        expected: `at most ${max}`,
        observed: String(observed.members.length),
        reason: `group ${name} has ${counted(observed.members.length, "member")} (${quoted(observed.members)}), at most ${max} promised`,
      });
    }
    return out;
  },
};
