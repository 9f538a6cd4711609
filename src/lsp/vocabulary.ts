// The schemas the checker validates against, as the server shows them: which attributes a block
// takes, and an attribute's type, default and description in words.
import { calendarAttributes, controlAttributes, stakeholderAttributes, waiverAttributes } from "../checker/blocks.js";
import { attributesOf, promiseTypes } from "../promise-types/registry.js";
import { describeType, type AttributeSpec, type PromiseTypeSpec } from "../promise-types/schema.js";

const byName = (specs: AttributeSpec[]) => new Map(specs.map((s) => [s.name, s]));
const blocks: Record<string, ReadonlyMap<string, AttributeSpec>> = {
  control: byName(controlAttributes),
  waiver: byName(waiverAttributes),
  stakeholder: byName(stakeholderAttributes),
  calendar: byName(calendarAttributes),
};

/** The attributes of the block whose header starts with `keyword`, inside `outer` (a promise's keyword is its type). */
export function attributesFor(keyword: string, outer: string | undefined): ReadonlyMap<string, AttributeSpec> | undefined {
  if (outer === "control") return attributesOf(keyword);
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
