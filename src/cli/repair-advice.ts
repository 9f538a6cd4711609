// What to do about drift that Covenant did not repair: which `repair` value of the promise's
// type would fix each difference, whether the promise declares it, and what else it needs (from
// the schema's `requires` rules). The report prints it under a promise in drift, so that a new
// user learns "add `repair = perms`" rather than only that a file is wrong.
import type { CheckedPromise } from "../checker/policy.js";
import type { Difference } from "../evaluator/contract.js";
import type { PromiseResult } from "../evaluator/engine.js";
import { promiseTypes } from "../promise-types/registry.js";

const ownership = new Set(["mode", "max_mode", "owner", "group"]);

/**
 * Per promise type with a `repair` attribute: the repair values that would fix a difference
 * (any one of them; the first is suggested), or undefined when no repair can. A test holds
 * every value here to the type's schema and every repairable type to an entry.
 */
export const repairsFor: Readonly<Record<string, (d: Difference) => string[] | undefined>> = {
  account: (d) => accountRepairs[d.attribute]?.(d),
  config: (d) => (d.attribute === "absent" && d.expected === "not set" ? ["remove"] : ["equals", "one_of", "at_most", "at_least", "umask_at_least"].includes(d.attribute) ? ["set"] : undefined),
  file: (d) => (ownership.has(d.attribute) ? ["perms"] : d.attribute === "integrity" || (d.attribute === "exists" && d.expected === "present") ? ["content"] : undefined),
  directory: (d) => (ownership.has(d.attribute) ? ["perms"] : d.attribute === "exists" && d.expected === "present" ? ["create"] : undefined),
  process: (d) => (d.attribute === "min" ? ["start"] : d.attribute === "max" ? ["kill"] : undefined),
  service: (d) => (d.attribute !== "state" ? undefined : d.expected === "stopped" ? ["stop"] : ["restart", "start"]),
  sysctl: (d) => (d.attribute === "value" ? ["set"] : undefined),
  lines: (d) => (d.attribute === "present" ? ["append"] : d.attribute === "absent" ? ["remove"] : undefined),
  // only towards prevented or unloaded: the drop-in never allows what a rule elsewhere prevents
  kernel_module: (d) => ((d.attribute === "prevented" || d.attribute === "blacklisted") && d.expected === "true" ? ["prevent"] : d.attribute === "loaded" && d.expected === "false" ? ["unload"] : undefined),
  package: (d) => (d.attribute === "version" || (d.attribute === "state" && d.expected === "installed") ? ["install"] : d.attribute === "state" ? ["remove", "purge"] : undefined),
};

/** `account`: which repair fixes an attribute (lock only towards locked, expire only towards expired: never the reverse). */
const accountRepairs: Record<string, (d: Difference) => string[] | undefined> = {
  locked: (d) => (d.expected === "locked" ? ["lock"] : undefined),
  empty_password: (d) => (d.expected === "not empty" ? ["lock"] : undefined),
  expired: (d) => (d.expected === "expired" ? ["expire"] : undefined),
  max_days: () => ["aging"],
  min_days: () => ["aging"],
  warn_days: () => ["aging"],
  inactive_days: () => ["aging"],
  shell: () => ["shell"],
  home_owned: () => ["home"],
  home_max_mode: () => ["home"],
};

function declaredRepairs(p: CheckedPromise): string[] {
  const r = p.attributes["repair"];
  return r === undefined ? [] : Array.isArray(r) ? (r as string[]) : [r as string];
}

function list(values: string[]): string {
  return values.length === 1 ? values[0]! : `[${values.join(", ")}]`;
}

function attributes(ds: Difference[]): string {
  return [...new Set(ds.map((d) => d.attribute))].join(", ");
}

/**
 * One line for a promise in drift that the gate did not touch (no change planned or held):
 * the `repair` to add, or that its differences must be fixed by hand. Undefined for any other
 * result: a dry run's planned changes and a held repair already say what would be done.
 */
export function repairAdvice(r: PromiseResult, p: CheckedPromise): string | undefined {
  if (r.outcome !== "drift" || r.changes.length > 0 || r.differences.length === 0) return undefined;
  const spec = promiseTypes.get(r.type);
  const needs = repairsFor[r.type];
  const repairAttribute = spec?.attributes.find((a) => a.name === "repair");
  if (!spec || !needs || !repairAttribute) {
    const why = spec?.repairs.replace(/^None:\s*/, "").replace(/\.$/, "");
    return `no repair exists for \`${r.type}\` promises${why ? ` (${why})` : ""}: fix it by hand`;
  }
  const declared = declaredRepairs(p);
  const byHand = r.differences.filter((d) => needs(d) === undefined);
  // differences a repair would fix, but none the promise declares
  const missing = r.differences.filter((d) => {
    const fixes = needs(d);
    return fixes !== undefined && !fixes.some((v) => declared.includes(v));
  });
  const parts: string[] = [];
  if (missing.length > 0) {
    const add = [...new Set(missing.map((d) => needs(d)![0]!))];
    const requires = (spec.constraints ?? []).flatMap((c) => (c.kind === "requires" && c.whenAttribute === "repair" && add.includes(c.hasValue) && p.attributes[c.attribute] === undefined ? [c.attribute] : []));
    const also = requires.length > 0 ? ` with ${requires.map((a) => `\`${a}\``).join(" and ")}` : "";
    const what = declared.length === 0 ? "no repair declared" : `\`repair = ${list(declared)}\` does not cover ${attributes(missing)}`;
    // a type whose `repair` takes one value (service, sysctl) names the one to use instead
    const suggested = repairAttribute.type.kind === "enum" ? `set \`repair = ${add[0]}\`` : `${declared.length === 0 ? "add" : "write"} \`repair = ${list([...declared, ...add])}\``;
    parts.push(`${what}: ${suggested}${also} to let Covenant fix it`);
  } else if (byHand.length < r.differences.length) {
    parts.push(`\`repair = ${list(declared)}\` planned no change (see the reason)`);
  }
  if (byHand.length > 0) parts.push(`${attributes(byHand)} cannot be repaired: fix by hand`);
  return parts.join("; ");
}
