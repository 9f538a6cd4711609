// Version constraints of `package` promises (`>= 1.2`, `= 1:2.3-4`, `< 3`), judged with the
// ordering of the package database the version came from (probes/packages.ts).
import { VERSION_CONSTRAINT } from "../promise-types/package.js";
import { compareVersions, type PackageManager } from "../probes/packages.js";

export type Operator = "=" | "!=" | "<" | "<=" | ">" | ">=";

export interface Constraint {
  op: Operator;
  version: string;
  /** as written, normalised: `>= 1.2` */
  text: string;
}

/** A constraint as the schema accepts it; Debian's `<<` and `>>` are `<` and `>`, and a bare version is `=`. */
export function parseConstraint(text: string): Constraint {
  const m = VERSION_CONSTRAINT.exec(text);
  if (!m) throw new Error(`\`${text}\` is not a version constraint`);
  const written = m[1] ?? "=";
  const op = (written === "<<" ? "<" : written === ">>" ? ">" : written) as Operator;
  const version = text.trim().slice(m[1] ? text.trim().indexOf(m[1]) + m[1].length : 0).trim();
  return { op, version, text: `${op} ${version}` };
}

/** Whether `installed` satisfies the constraint; undefined when the two cannot be compared. */
export function satisfies(manager: PackageManager, installed: string, c: Constraint): boolean | undefined {
  const r = compareVersions(manager, installed, c.version);
  if (r === undefined) return undefined;
  switch (c.op) {
    case "=":
      return r === 0;
    case "!=":
      return r !== 0;
    case "<":
      return r < 0;
    case "<=":
      return r <= 0;
    case ">":
      return r > 0;
    case ">=":
      return r >= 0;
  }
}
