// Hover: what a name means (a variable's value, a context's condition, a stakeholder and how they
// are reached, a control's title, owner and refs, a fact's meaning and its value on this host),
// and an attribute's or a promise type's schema.
import { exprText, literalText, nameSpan, typeSpan, type Attribute, type PromiseDecl, type Statement } from "../parser/ast.js";
import { facts } from "../facts/catalog.js";
import { readFacts, type FactValue } from "../facts/host.js";
import { loadConfig } from "../config/load.js";
import type { Hover } from "vscode-languageserver/node";
import type { DeclaredTypes } from "../checker/promise-type-decl.js";
import type { At } from "./features.js";
import { nameIndex, type Occurrence } from "./names.js";
import { attributesFor, declaredTypes, describeAttribute, describePromiseType, promiseTypes, promiseTypeSpec } from "./vocabulary.js";

const MAX_SHOWN = 400;
/**
 * Policy text in a code block: fenced with more backticks than it holds in a row, so that no
 * value can end the block and have the rest read as markdown (a link, an image the editor fetches).
 */
function code(text: string): string {
  const shown = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
  const fence = "`".repeat(Math.max(3, ...[...shown.matchAll(/`+/g)].map((m) => m[0].length + 1)));
  return `${fence}covenant\n${shown}\n${fence}`;
}
/** Text from the policy, the configuration or the host, in markdown: as text, never markup. */
export const plain = (text: string) => text.replace(/[\\`*_{}[\]()#+\-.!<>|~]/g, (c) => `\\${c}`);
const markdown = (value: string): Hover => ({ contents: { kind: "markdown", value } });

export function hover(a: At): Hover | null {
  const o = nameIndex(a.check).at(a.shown, a.offset);
  if (o) return nameHover(a, o);
  const file = a.check.files.find((f) => f.path === a.shown);
  const s = file?.statements.find((x) => x.start <= a.offset && a.offset <= x.end);
  return s ? schemaHover(s, a) : null;
}

function nameHover(a: At, o: Occurrence): Hover | null {
  const idx = nameIndex(a.check);
  const uses = idx.uses(o.kind, o.name).filter((x) => !x.declaration).length;
  const used = `used ${uses} time${uses === 1 ? "" : "s"}`;
  switch (o.kind) {
    case "variable": {
      const d = idx.declared.variable.get(o.name)?.statement;
      return d?.kind === "let" ? markdown(`${code(`let ${o.name} = ${exprText(d.value)}`)}\nvariable, ${used}`) : null;
    }
    case "context": {
      const d = idx.declared.context.get(o.name)?.statement;
      return d?.kind === "context" ? markdown(`${code(`context ${o.name} = ${exprText(d.expr)}`)}\ncontext, ${used}`) : null;
    }
    case "stakeholder":
      return markdown(stakeholderText(a, o.name, idx.declared.stakeholder.get(o.name)?.statement, used));
    case "control": {
      const d = idx.declared.control.get(o.name)?.statement;
      return d?.kind === "control" ? markdown(controlText(d)) : markdown(`no control has the id ${plain(o.name)}`);
    }
    case "fact":
      return markdown(factText(o.name));
    case "import":
      return markdown(`imports ${plain(o.name)}, from the directory of this file`);
  }
}

function stakeholderText(a: At, name: string, decl: Statement | undefined, used: string): string {
  const lines = [`**stakeholder ${plain(name)}**`];
  const description = decl?.kind === "stakeholder" ? decl.attributes?.find((x) => x.name === "description") : undefined;
  if (description?.value.kind === "string") lines.push("", plain(literalText(description.value)));
  lines.push("", used);
  if (a.check.configPath === undefined) {
    lines.push("", "No covenant.yaml: nobody is told (notifications are off).");
    return lines.join("\n");
  }
  // how they are reached: the channels covenant.yaml gives them (the secrets stay in the file)
  const config = loadConfig(a.check.configPath, { checkSecretFiles: false }).config;
  const configured = config?.stakeholders.get(name);
  if (!config) lines.push("", "covenant.yaml has errors: how they are reached is not known until it checks clean.");
  else if (!configured) lines.push("", "covenant.yaml does not configure them: deficiencies routed to them reach nobody (E340).");
  else lines.push("", `Reached through ${configured.channels.map((c) => `${plain(c)} (${config.channels.get(c)?.type ?? "?"})`).join(", ") || "no channel"}; ${configured.people.length} ${configured.people.length === 1 ? "person" : "people"}.`);
  return lines.join("\n");
}

function controlText(d: Statement & { kind: "control" }): string {
  const attr = (n: string) => d.items.find((i): i is Attribute => i.kind === "attribute" && i.name === n);
  const shown = (n: string) => {
    const v = attr(n)?.value;
    return v === undefined ? undefined : plain(v.kind === "string" ? literalText(v) : exprText(v));
  };
  const promises = d.items.filter((i) => i.kind === "promise").length;
  const lines = [`**control ${plain(literalText(d.id))}**: ${shown("title") ?? "(no title)"}`, ""];
  lines.push(`owner: ${shown("owner") ?? "none"} · severity: ${shown("severity") ?? "medium"}${shown("key") === "true" ? " · key control" : ""} · ${promises} promise${promises === 1 ? "" : "s"}`);
  const refs = attr("refs")?.value;
  if (refs) lines.push("", `refs: ${plain(refs.kind === "list" ? refs.items.map((r) => (r.kind === "string" ? literalText(r) : exprText(r))).join("; ") : exprText(refs))}`);
  return lines.join("\n");
}

let hostFacts: { at: number; values: Map<string, FactValue> } | undefined;

function factText(name: string): string {
  const spec = facts.get(name)!;
  // read again at most every few seconds: the date and the addresses move, a hover should not wait
  if (hostFacts === undefined || Date.now() - hostFacts.at > 5000) hostFacts = { at: Date.now(), values: readFacts() };
  const value = hostFacts.values.get(name);
  const shown = value === undefined ? "not known on this host" : plain(Array.isArray(value) ? value.join(", ") : String(value));
  return `**fact ${name}**\n\n${spec.description}\n\nOn this host now: ${shown}`;
}

function schemaHover(s: Statement, a: At): Hover | null {
  const inside = (x: { start: number; end: number }) => x.start <= a.offset && a.offset <= x.end;
  const attrs = s.kind === "control" ? s.items : s.kind === "waiver" || s.kind === "calendar" ? s.attributes : s.kind === "stakeholder" ? (s.attributes ?? []) : [];
  for (const item of attrs) {
    if (item.kind === "attribute") {
      if (!inside(nameSpan(item))) continue;
      const spec = attributesFor(s.kind, undefined)?.get(item.name);
      return spec ? markdown(describeAttribute(spec, s.kind)) : null;
    }
    if (!inside(item)) continue;
    return promiseHover(item, inside, declaredTypes(a.check));
  }
  return null;
}

function promiseHover(p: PromiseDecl, inside: (x: { start: number; end: number }) => boolean, declared: DeclaredTypes | undefined): Hover | null {
  // a site's own type is described by the policy: its words are shown as text
  const shown = (text: string) => markdown(promiseTypes.has(p.type) ? text : plain(text));
  const type = promiseTypeSpec(p.type, declared);
  if (inside(typeSpan(p))) return type ? shown(describePromiseType(type)) : null;
  const a = p.attributes.find((x) => inside(nameSpan(x)));
  const spec = a ? attributesFor(p.type, "control", declared)?.get(a.name) : undefined;
  return spec ? shown(describeAttribute(spec, `\`${p.type}\` promise`)) : null;
}
