// What the channel harnesses share: the harness interface of the contract suite, and how a JSON
// item is shown.
export type { ChannelHarness } from "../contract.js";

/** Every string in a parsed JSON value, one per line: what a program reading it sees. */
export function stringsOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(stringsOf).join("\n");
  if (value !== null && typeof value === "object") return Object.values(value).map(stringsOf).join("\n");
  return String(value);
}
