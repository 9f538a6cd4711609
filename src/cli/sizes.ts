// Sizes given on the command line (`16MiB`, `500KB`, `4096` bytes): the units of sizes in the language.
import { sizeUnits } from "../parser/literals.js";

/** `16MiB`, `500KB`, `4096` (bytes) → bytes, or undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)\s*([A-Za-z]*)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = m[2] === "" ? 1 : sizeUnits[m[2]!];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}
