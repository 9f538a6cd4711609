// A site's own promise types (`promise_type NAME { ... }`, docs/plugins.md): checked from what
// the policy states alone, so that `check` and editors validate their promises without running
// the plugin. Each declaration becomes a PromiseTypeSpec like a built-in type's, and the
// existing attribute checks apply to its promises unchanged.
import { typeSpan, type PromiseDecl, type PromiseTypeDecl } from "../parser/ast.js";
import { diagnostic, type Diagnostic, type Span } from "../parser/diagnostics.js";
import { promiseTypes } from "../promise-types/registry.js";
import { commonPromiseAttributes, type AttributeSpec, type PromiseTypeSpec, type ValueType } from "../promise-types/schema.js";
import { attributeDeclAttributes, declarableTypes, promiseTypeDeclAttributes } from "./blocks.js";
import { checkAttributes } from "./attributes.js";
import { INVALID, type ValueChecker } from "./values.js";
import type { DeclaredPromiseType } from "./policy.js";

/** Every declared type has `repair`: the policy, not the plugin, decides whether it may change the host. */
const repairAttribute: AttributeSpec = {
  name: "repair",
  type: { kind: "boolean" },
  description: "Ask the plugin to repair when it reports drift (through the change gate: not in a dry run or a sandbox).",
  default: "false",
};

const declSpecs = new Map(promiseTypeDeclAttributes.map((s) => [s.name, s]));
const attributeSpecs = new Map(attributeDeclAttributes.map((s) => [s.name, s]));
const reserved = new Set([...commonPromiseAttributes.map((a) => a.name), repairAttribute.name]);

export interface DeclaredTypes {
  /** the declared types by name, for the evaluator */
  types: Map<string, DeclaredPromiseType>;
  /** their schemas, as the checker validates promises against them */
  specs: Map<string, PromiseTypeSpec>;
  /** their attributes with the common ones, as attributesOf gives a built-in type's */
  attributes: Map<string, ReadonlyMap<string, AttributeSpec>>;
  /** declared, but with errors: their promises are not reported as of an unknown type on top */
  broken: Set<string>;
}

export function checkPromiseTypes(decls: PromiseTypeDecl[], values: ValueChecker, diagnostics: Diagnostic[]): DeclaredTypes {
  const out: DeclaredTypes = { types: new Map(), specs: new Map(), attributes: new Map(), broken: new Set() };
  const first = new Map<string, PromiseTypeDecl>();
  for (const decl of decls) {
    const name = decl.name.name;
    if (promiseTypes.has(name)) {
      diagnostics.push(diagnostic("E114", `\`${name}\` is a built-in promise type`, decl.name, { suggestion: "give the site's type a name of its own, such as a prefix with the site's name" }));
      continue;
    }
    const earlier = first.get(name);
    if (earlier) {
      diagnostics.push(diagnostic("E114", `promise type \`${name}\` is already declared`, decl.name, { related: [{ span: earlier.name, message: "first declared here" }] }));
      continue;
    }
    first.set(name, decl);
    const checked = checkOne(decl, values, diagnostics);
    if (!checked) {
      out.broken.add(name);
      continue;
    }
    out.types.set(name, checked.declared);
    out.specs.set(name, checked.spec);
    out.attributes.set(name, new Map([...checked.spec.attributes, ...commonPromiseAttributes].map((a) => [a.name, a])));
  }
  return out;
}

function checkOne(decl: PromiseTypeDecl, values: ValueChecker, diagnostics: Diagnostic[]): { declared: DeclaredPromiseType; spec: PromiseTypeSpec } | undefined {
  const name = decl.name.name;
  const what = `promise type \`${name}\``;
  const before = diagnostics.length;
  const own = decl.items.filter((i) => i.kind === "attribute");
  const a = checkAttributes(own, declSpecs, { what, head: decl.name }, values, diagnostics);
  const attributes: AttributeSpec[] = [];
  const seen = new Map<string, { span: Span }>();
  for (const item of decl.items) {
    if (item.kind !== "promise") continue;
    if (item.type !== "attribute" || item.promiser?.kind !== "ident") {
      const hint = item.type === "attribute" ? "name it with a bare name: `attribute branch { type = string }`" : "declare its attributes with `attribute NAME { type = … }`";
      diagnostics.push(diagnostic("E126", `a promise type's body holds its own attributes and \`attribute\` declarations, not \`${item.type}\``, typeSpan(item), { suggestion: hint }));
      continue;
    }
    const attrName = item.promiser.name;
    if (reserved.has(attrName)) {
      diagnostics.push(diagnostic("E126", `\`${attrName}\` is an attribute every promise has: a promise type cannot declare it`, item.promiser, { suggestion: "choose another name" }));
      continue;
    }
    const dup = seen.get(attrName);
    if (dup) {
      diagnostics.push(diagnostic("E114", `attribute \`${attrName}\` is already declared for ${what}`, item.promiser, { related: [{ span: dup.span, message: "first declared here" }] }));
      continue;
    }
    seen.set(attrName, { span: item.promiser });
    const spec = checkAttributeDecl(attrName, item, values, diagnostics);
    if (spec) attributes.push(spec);
  }
  if (diagnostics.length > before) return undefined;
  const command = a.values["command"];
  if (command === undefined || command === INVALID) return undefined;
  const takesPromiser = (a.values["promiser"] as boolean | undefined) ?? true;
  const description = (a.values["description"] as string | undefined) ?? "";
  attributes.push(repairAttribute);
  const spec: PromiseTypeSpec = {
    name,
    summary: description || `The site's promise type \`${name}\`, run by a plugin.`,
    description,
    promiser: takesPromiser ? { type: { kind: "string", nonEmpty: true }, description: `What the \`${name}\` promise is about` } : null,
    attributes,
    repairs: "What the plugin does when asked to repair, if `repair = true`.",
    example: "",
  };
  const declared: DeclaredPromiseType = { name, command: command as string[], span: decl };
  const timeout = a.values["timeout"] as number | undefined;
  if (timeout !== undefined) declared.timeoutMs = timeout;
  return { declared, spec };
}

function checkAttributeDecl(name: string, item: PromiseDecl, values: ValueChecker, diagnostics: Diagnostic[]): AttributeSpec | undefined {
  const a = checkAttributes(item.attributes, attributeSpecs, { what: `attribute \`${name}\``, head: typeSpan(item) }, values, diagnostics);
  const typeName = a.values["type"] as string | undefined;
  if (typeName === undefined) return undefined;
  const enumValues = a.values["values"] as string[] | undefined;
  if (enumValues !== undefined && typeName !== "string") {
    diagnostics.push(diagnostic("E126", "`values` lists the values of a string attribute", a.nodes["values"]!.value, { suggestion: "write `type = string` with it, or remove it" }));
    return undefined;
  }
  const type: ValueType = enumValues !== undefined ? { kind: "enum", values: enumValues } : declarableTypes[typeName]!;
  const spec: AttributeSpec = { name, type, description: (a.values["description"] as string | undefined) ?? "" };
  if (a.values["required"] === true) spec.required = true;
  return spec;
}
