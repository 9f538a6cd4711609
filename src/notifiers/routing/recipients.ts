// Who a receiver is, down to an address: a stakeholder is told through each of its channels; an
// email channel reaches each of its people who has an address, a Twilio channel each who has a
// phone, and a report, webhook or Alertmanager channel is one recipient however many people.
import type { ChannelConfig, ChannelType, Person, Stakeholder } from "../../config/types.js";
import type { Deficiency } from "../contract.js";

/** The receiver that stands for the promise's `->` stakeholders and its control's owner. */
const ownersReceiver = "owners";

export interface Recipient {
  /** "security/mail/alice@example.com", "siem/hook": the key of its group states */
  id: string;
  stakeholder: Stakeholder;
  /** the channel's name under `channels:` */
  channel: string;
  channelType: ChannelType;
  person?: Person;
}

/** Stakeholder names for a route's receivers, "owners" spelt out, each once, in order. */
export function receiverNames(receivers: readonly string[], d: Deficiency): string[] {
  const names: string[] = [];
  for (const r of receivers) {
    if (r !== ownersReceiver) names.push(r);
    else {
      names.push(...d.promise.stakeholders);
      if (d.control.owner !== undefined) names.push(d.control.owner);
    }
  }
  return [...new Set(names)];
}

/** Every address of one stakeholder; an unknown channel name (the loader rejects those) reaches no one. */
export function recipientsOf(stakeholder: Stakeholder, channels: ReadonlyMap<string, ChannelConfig>): Recipient[] {
  const out: Recipient[] = [];
  for (const name of stakeholder.channels) {
    const channel = channels.get(name);
    if (channel === undefined) continue;
    const base = { stakeholder, channel: name, channelType: channel.type };
    if (channel.type === "email" || channel.type === "twilio") {
      for (const person of stakeholder.people) {
        const address = channel.type === "email" ? person.email : person.phone;
        if (address !== undefined && address !== "") out.push({ ...base, id: `${stakeholder.name}/${name}/${address}`, person });
      }
    } else out.push({ ...base, id: `${stakeholder.name}/${name}` });
  }
  // two people sharing one address (a team mailbox) are one recipient
  const seen = new Set<string>();
  return out.filter((r) => !seen.has(r.id) && seen.add(r.id));
}
