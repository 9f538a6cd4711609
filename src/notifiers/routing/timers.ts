// When a group is next told, and why, as Alertmanager decides it for one group and receiver:
// a new group waits group_wait (so deficiencies found together arrive together); a group that
// changed since it was last told waits until group_interval after that message; a group that
// did not change is reminded after repeat_interval while something in it is open.
import type { Timing } from "../../config/types.js";
import type { Deficiency, GroupState, MessageKind } from "../contract.js";
import { fingerprint } from "./ids.js";

/** A member seen by a group but not yet told to its recipient (told[id] holds it so the store keeps it). */
export const pending = "";

export interface Due {
  kind: MessageKind;
  /** the earliest instant it may be sent (quiet hours may hold it longer) */
  at: number;
}

export interface MembershipContext {
  /** open deficiencies held back by inhibition, to the one holding them */
  inhibited: ReadonlyMap<string, string>;
  /** every deficiency some group remembers: a notice any group has already seen is not news to another */
  remembered: ReadonlySet<string>;
  sendResolved: boolean;
}

export interface Membership {
  /** what the next message is about */
  members: Deficiency[];
  /** told entries kept for deficiencies that belong here but are held back (inhibited) */
  kept: Record<string, string>;
}

/**
 * The members of a group for one recipient: its open deficiencies (unless inhibited), notices not
 * yet told, and — with send_resolved — resolved ones this recipient was told about while open.
 */
export function membership(mapped: readonly Deficiency[], state: GroupState, ctx: MembershipContext): Membership {
  const members: Deficiency[] = [];
  const kept: Record<string, string> = {};
  for (const d of mapped) {
    const told = state.told[d.id];
    if (d.status === "open") {
      if (!ctx.inhibited.has(d.id)) members.push(d);
      else if (told !== undefined) kept[d.id] = told;
    } else if (d.notice) {
      if (told !== undefined || !ctx.remembered.has(d.id)) members.push(d);
    } else if (ctx.sendResolved && told !== undefined && told !== pending) members.push(d);
  }
  return { members, kept };
}

const untold = (state: GroupState, d: Deficiency): boolean => !state.told[d.id];

/** The next message this recipient is owed about the group, or undefined when it is owed none. */
export function nextDue(state: GroupState, members: readonly Deficiency[], timing: Timing, escalation: boolean): Due | undefined {
  if (members.length === 0) return undefined;
  const news = members.some((d) => untold(state, d));
  const newsKind: MessageKind = escalation ? "escalated" : "opened";
  if (state.lastSentAt === undefined) return { kind: newsKind, at: state.firstSeenAt + (escalation ? 0 : timing.groupWaitMs) };
  const changed = news || members.some((d) => state.told[d.id] !== fingerprint(d));
  if (changed) {
    const kind = news ? newsKind : members.every((d) => d.status !== "open") ? "resolved" : "updated";
    return { kind, at: state.lastSentAt + timing.groupIntervalMs };
  }
  // a reminder never comes sooner than a change could
  if (members.some((d) => d.status === "open")) return { kind: "reminder", at: state.lastSentAt + Math.max(timing.repeatIntervalMs, timing.groupIntervalMs) };
  return undefined;
}

/**
 * What the group remembers after telling `members`: open ones as told; resolved ones and notices
 * are done with and forgotten (so the store may let them go), except as held back.
 */
export function toldAfterSending(members: readonly Deficiency[], kept: Record<string, string>): Record<string, string> {
  const told: Record<string, string> = { ...kept };
  for (const d of members) if (d.status === "open") told[d.id] = fingerprint(d);
  return told;
}

/** What the group remembers while it waits: members as last told, or pending. */
export function toldWhileWaiting(state: GroupState, members: readonly Deficiency[], kept: Record<string, string>): Record<string, string> {
  const told: Record<string, string> = { ...kept };
  for (const d of members) told[d.id] = state.told[d.id] ?? pending;
  return told;
}
