// What the channel contract suite needs of each channel's test set-up (H4's test/notifiers/
// contract.ts defines the same interface; this copy lets the hooks channels be checked before
// the two branches meet). make() gives a channel to a working receiver, undoing any break.
import type { Channel } from "../../../src/notifiers/contract.js";

export interface ChannelHarness {
  make(): Promise<Channel>;
  /** what the receiver holds so far, parsed (webhook bodies, Alertmanager alerts, report entries) */
  received(): Promise<unknown[]>;
  /** the receiver fails in a way that passes (5xx, 429, a full disk) until make() */
  breakTemporarily(): Promise<void>;
  /** the receiver refuses in a way no retry cures (4xx, a redirect, a link) until make() */
  breakPermanently(): Promise<void>;
  /** the channel's secret; "" when the channel has none (its check then holds trivially) */
  secret: string;
  stop(): Promise<void>;
  /** the receiver gone altogether (connection refused) until make(); absent where there is no receiver */
  takeDown?(): Promise<void>;
}
