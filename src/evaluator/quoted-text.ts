// Text read from a host's files, quoted for a finding: secrets masked first (the built-in
// patterns of docs/watch-findings.md, "What is masked": `password=...`, credentials in a URL,
// tokens), then escaped and cut as a command's output is. A line may be as long as a file; only
// its start is masked and shown.
import { masker } from "../integrity/mask.js";
import { quoteOutput } from "./promise-types/command.js";

/** More than is ever shown (quoteOutput cuts to 200 characters), so a secret cut in half is still masked. */
const MASKED_PREFIX = 1000;

let defaults: ReturnType<typeof masker> | undefined;

export function quoteMasked(text: string): string {
  defaults ??= masker();
  return quoteOutput(defaults.line(text.slice(0, MASKED_PREFIX)).text);
}
