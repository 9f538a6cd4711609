// The schemas the checker validates against, as the server shows them: which attributes a block
// takes, and an attribute's type, default and description in words.
import { calendarAttributes, controlAttributes, stakeholderAttributes, waiverAttributes } from "../checker/blocks.js";
import { ConditionChecker } from "../checker/conditions.js";
import { checkPromiseTypes, type DeclaredTypes } from "../checker/promise-type-decl.js";
import { Scope } from "../checker/scope.js";
import { ValueChecker } from "../checker/values.js";
import type { SourceFile } from "../parser/ast.js";
import { attributesOf, promiseTypes } from "../promise-types/registry.js";
import { describeType, type AttributeSpec, type PromiseTypeSpec } from "../promise-types/schema.js";

const byName = (specs: AttributeSpec[]) => new Map(specs.map((s) => [s.name, s]));
const blocks: Record<string, ReadonlyMap<string, AttributeSpec>> = {
  control: byName(controlAttributes),
  waiver: byName(waiverAttributes),
  stakeholder: byName(stakeholderAttributes),
  calendar: byName(calendarAttributes),
};

const declaredOf = new WeakMap<object, DeclaredTypes>();

/**
 * The site's own promise types the policy declares (`promise_type`, docs/plugins.md), as the
 * checker reads them (its diagnostics are the check's, so they are dropped here); once a check.
 */
export function declaredTypes(check: { files: SourceFile[] }): DeclaredTypes | undefined {
  if (!check.files.some((f) => f.statements.some((s) => s.kind === "promise_type"))) return undefined;
  let declared = declaredOf.get(check);
  if (declared === undefined) {
    const scope = new Scope(check.files, []);
    const values = new ValueChecker(scope, []);
    values.conditions = new ConditionChecker(scope, values, []);
    declaredOf.set(check, (declared = checkPromiseTypes(scope.promiseTypes, values, [])));
  }
  return declared;
}

/** A promise type by name: built in, or declared by the policy. */
export function promiseTypeSpec(name: string, declared: DeclaredTypes | undefined): PromiseTypeSpec | undefined {
  return promiseTypes.get(name) ?? declared?.specs.get(name);
}

/** The attributes of the block whose header starts with `keyword`, inside `outer` (a promise's keyword is its type). */
export function attributesFor(keyword: string, outer: string | undefined, declared?: DeclaredTypes): ReadonlyMap<string, AttributeSpec> | undefined {
  if (outer === "control") return attributesOf(keyword) ?? declared?.attributes.get(keyword);
  if (outer !== undefined) return undefined;
  return blocks[keyword];
}

export function describeAttribute(spec: AttributeSpec, where: string): string {
  const lines = [`**${spec.name}** (${where}): ${describeType(spec.type)}${spec.required ? ", required" : ""}`, "", spec.description];
  if (spec.default !== undefined) lines.push("", `Default: \`${spec.default}\``);
  return lines.join("\n");
}

export function describePromiseType(spec: PromiseTypeSpec): string {
  const promiser = spec.promiser ? `\`${spec.name} <promiser> { … }\`: the promiser is ${describeType(spec.promiser.type)} (${spec.promiser.description})` : `\`${spec.name} { … }\`: no promiser, it checks the whole host`;
  return [`**${spec.name}**: ${spec.summary}`, "", promiser, "", spec.description, "", `Repairs: ${spec.repairs}`].join("\n");
}

export { promiseTypes };
