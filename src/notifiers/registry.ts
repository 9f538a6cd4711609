// Channel type → the module that makes such a channel. Each entry is a dynamic import, so the
// channel libraries (nodemailer, and twilio's Messages resource: bundled in chunks of their own)
// are loaded only when a message is about to go through them: a run with nothing to tell keeps
// its start-up time and memory. Each channel module exports `createChannel: ChannelFactory`.
import type { ChannelConfig, ChannelType } from "../config/types.js";
import type { Channel, ChannelContext, ChannelFactory } from "./contract.js";

type Factories = Record<ChannelType, () => Promise<ChannelFactory>>;

export const channelFactories: Factories = {
  email: async () => (await import("./email.js")).createChannel,
  twilio: async () => (await import("./twilio.js")).createChannel,
  webhook: async () => (await import("./webhook.js")).createChannel,
  alertmanager: async () => (await import("./alertmanager.js")).createChannel,
  report: async () => (await import("./report.js")).createChannel,
};

/**
 * Makes the channel a configuration names: loads its module, reads its secrets (through ctx)
 * and prepares its client. Throws when it cannot be made (an unreadable secret or CA file); a
 * made channel's send never throws.
 */
export async function makeChannel(config: ChannelConfig, ctx: ChannelContext): Promise<Channel> {
  const load = channelFactories[config.type];
  if (!load) throw new Error(`channel ${config.name}: type ${config.type} is not built into this Covenant`);
  const factory = await load();
  return factory(config, ctx);
}
