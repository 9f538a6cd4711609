// One group and recipient, one plan: decide whether a message is due now, build it, and say what
// the group remembers afterwards (or that it is done with and may be forgotten).
import type { Timing } from "../../config/types.js";
import type { Deficiency, GroupState, Message } from "../contract.js";
import type { Bucket } from "./buckets.js";
import { messageId } from "./ids.js";
import { quietUntil } from "./quiet.js";
import { membership, nextDue, toldAfterSending, toldWhileWaiting, type Due, type MembershipContext } from "./timers.js";

/** How many earlier message ids a group keeps for threading. */
const threadLength = 20;

export interface StepContext extends Omit<MembershipContext, "sendResolved"> {
  now: number;
  /** the time zone of a stakeholder who names none */
  hostTimeZone?: string;
}

export interface StepResult {
  /** the state to keep, or undefined to forget it */
  state?: GroupState;
  message?: { channel: string; recipient: string; message: Message; dueAt: number };
  /** the members, for "who is told" */
  members: Deficiency[];
  /** a future instant at which this group is owed something */
  timer?: number;
}

/** Open first, then resolved, then notices; by control, key and id within each. */
function orderMembers(members: readonly Deficiency[]): Deficiency[] {
  const rank = (d: Deficiency): number => (d.status === "open" ? 0 : d.notice ? 2 : 1);
  return [...members].sort((a, b) => rank(a) - rank(b) || cmp(a.control.id, b.control.id) || cmp(a.key, b.key) || cmp(a.id, b.id));
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Email and SMS wait for the end of the stakeholder's quiet hours; critical deficiencies and machine channels do not. */
function sendTime(due: Due, bucket: Bucket, members: readonly Deficiency[], ctx: StepContext): number {
  const at = Math.max(due.at, ctx.now);
  const { stakeholder, channelType } = bucket.recipient;
  if (stakeholder.quietHours === undefined || (channelType !== "email" && channelType !== "twilio")) return at;
  if (members.some((d) => d.control.severity === "critical")) return at;
  return quietUntil(at, stakeholder.quietHours, stakeholder.timezone ?? ctx.hostTimeZone) ?? at;
}

/** A state with nothing left to tell is forgotten once a message to it could be sent again (so a new member still waits group_interval). */
function finished(state: GroupState, timing: Timing | undefined, now: number): boolean {
  if (Object.keys(state.told).length > 0) return false;
  if (state.lastSentAt === undefined || timing === undefined) return true;
  return now >= state.lastSentAt + timing.groupIntervalMs;
}

/** A state no deficiency reaches any longer: forgotten under the same rule, its told entries being stale. */
export function stepOrphan(state: GroupState, timing: Timing | undefined, now: number): StepResult {
  const emptied = { ...state, told: {} };
  return finished(emptied, timing, now) ? { members: [] } : { state: emptied, members: [] };
}

/** A group a plan has not seen before starts when its earliest member arrived. */
function newState(bucket: Bucket, members: readonly Deficiency[], now: number): GroupState {
  const firstSeenAt = members.reduce((min, d) => Math.min(min, bucket.arrived.get(d.id) ?? now), now);
  return { route: bucket.route, groupKey: bucket.group.key, recipient: bucket.recipient.id, escalation: bucket.escalation, firstSeenAt, told: {}, messages: [] };
}

export function stepGroup(bucket: Bucket, previous: GroupState | undefined, ctx: StepContext): StepResult {
  const mctx = { ...ctx, sendResolved: bucket.timing.sendResolved };
  const blank = previous ?? newState(bucket, [], ctx.now);
  const { members, kept } = membership(bucket.mapped, blank, mctx);
  const state = previous ?? newState(bucket, members, ctx.now);
  const due = nextDue(state, members, bucket.timing, bucket.escalation);
  const at = due === undefined ? undefined : sendTime(due, bucket, members, ctx);
  if (due === undefined || at === undefined || at > ctx.now) {
    const waiting = { ...state, told: toldWhileWaiting(state, members, kept) };
    return { state: finished(waiting, bucket.timing, ctx.now) ? undefined : waiting, members, timer: at };
  }
  const ordered = orderMembers(members);
  const since = state.lastSentAt ?? state.firstSeenAt;
  const id = messageId({ route: bucket.route, groupKey: bucket.group.key, recipient: bucket.recipient.id, kind: due.kind, members: ordered, since });
  const message: Message = {
    id,
    kind: due.kind,
    route: bucket.route,
    groupKey: bucket.group.key,
    groupLabels: { ...bucket.group.labels },
    previous: [...state.messages],
    recipient: bucket.recipient.id,
    host: ordered[0]!.host,
    deficiencies: ordered,
    stakeholder: bucket.recipient.stakeholder,
    ...(bucket.recipient.person ? { person: bucket.recipient.person } : {}),
    createdAt: new Date(at).toISOString(),
  };
  const sent: GroupState = { ...state, lastSentAt: at, told: toldAfterSending(members, kept), messages: [...state.messages, id].slice(-threadLength) };
  return { state: finished(sent, bucket.timing, ctx.now) ? undefined : sent, message: { channel: bucket.recipient.channel, recipient: bucket.recipient.id, message, dueAt: at }, members };
}
