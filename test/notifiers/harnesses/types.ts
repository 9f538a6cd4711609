// What the channel contract suite needs of each channel's test set-up: a copy of ChannelHarness
// in test/notifiers/contract.ts on branch n14-channels (H4), so that the hooks channels' harnesses
// plug into that suite unchanged once the branches meet (then import it from "../contract.js"
// and delete this file). `dedupes` is the one addition: see hooks-contract.test.ts.
import type { Channel } from "../../../src/notifiers/contract.js";

export interface ChannelHarness {
  /** a new channel configured for this harness's receiver (the suite closes it) */
  make(): Promise<Channel>;
  /** everything the receiver has got so far, oldest first, in whatever shape it keeps */
  received(): Promise<unknown[]>;
  /** what a person or system reading one received item sees, as text (a mail's text and HTML parts, an SMS body, a JSON body) */
  shows(item: unknown): string;
  /** the part of an item a mail client or browser renders as HTML, if there is one: no markup of outside text may survive there */
  markup?(item: unknown): string | undefined;
  /** the id a receiver deduplicates on (Message-ID, payload id), or undefined where the medium carries none (SMS) */
  idOf(item: unknown): string | undefined;
  /**
   * How outside text must arrive: "escaped" (controls made visible, markup escaped: mail, SMS,
   * Markdown) or "intact" (the exact string, inside a structured payload: JSON, Alertmanager labels).
   */
  outsideText: "escaped" | "intact";
  /** whether the receiver shows a message's reason in full ("escaped" channels that cut text, such as SMS, do not) */
  showsWholeReason: boolean;
  /** from now on, the receiver refuses in a way worth a retry (451, 429, 503) */
  breakTemporarily(): void | Promise<void>;
  /** from now on, the receiver refuses for good (550, an invalid number, 400) */
  breakPermanently(): void | Promise<void>;
  /** back to accepting */
  heal(): void | Promise<void>;
  /** the receiver stops listening; up() starts it again on the same address */
  down(): Promise<void>;
  up(): Promise<void>;
  /** the channel's secret (password, token, HMAC key): it must appear in no Delivery */
  secret: string;
  stop(): Promise<void>;
  /**
   * The channel itself drops a message it has already delivered (the report channel: a resend
   * after a crash is not written twice), so a resend adds nothing to what the receiver holds.
   */
  dedupes?: boolean;
}

/** Every string in a parsed JSON value, one per line: what a program reading it sees. */
export function stringsOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(stringsOf).join("\n");
  if (value !== null && typeof value === "object") return Object.values(value).map(stringsOf).join("\n");
  return String(value);
}
