// The sysctl.d(5) format, read as src/probes/sysctl-d.ts reads it for the boot order: `key =
// value`, `#` and `;` comments, a leading `-` (ignore errors) not part of the key, `/` or `.`
// separating the key's parts, and runs of blanks in the value folded. Within one file the last
// setting of a key wins.
import { dottedKey } from "../probes/sysctl-d.js";
import { normalise } from "../probes/sysctl.js";
import * as keyValue from "./key_value.js";
import type { ParsedConfig } from "./setting.js";

export function parse(text: string, path: string): ParsedConfig {
  return keyValue.parse(text, path, { separator: "=", comments: ["#", ";"], keyPrefix: /^-/, key: dottedKey, value: normalise });
}

export function render(key: string, value: string): string {
  return `${key} = ${value}`;
}
