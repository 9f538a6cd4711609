// Completion: what may be written where the cursor is (cursor.ts says where that is).
import { dirname, relative, resolve } from "node:path";
import { CompletionItemKind, InsertTextFormat, type CompletionItem } from "vscode-languageserver/node";
import { factCatalogue } from "../facts/catalog.js";
import type { AttributeSpec, ValueType } from "../promise-types/schema.js";
import { cursorAt, declarationStart, type Cursor } from "./cursor.js";
import type { At } from "./features.js";
import { plain } from "./hover.js";
import { nameIndex, type NameIndex } from "./names.js";
import type { DeclaredTypes } from "../checker/promise-type-decl.js";
import { attributesFor, declaredTypes, describeAttribute, describePromiseType, promiseTypes } from "./vocabulary.js";

const STATEMENTS = ["control", "let", "context", "stakeholder", "waiver", "calendar", "import", "promise_type"];
const doc = (value: string) => ({ kind: "markdown" as const, value });

export function completions(a: At): CompletionItem[] {
  const text = a.doc.getText();
  const file = a.check.files.find((f) => f.path === a.shown);
  const cursor = cursorAt(text, a.offset, declarationStart(file, a.offset));
  const idx = nameIndex(a.check);
  if (cursor.inString !== undefined) return inString(a, cursor, idx);
  const p = cursor.linePrefix;
  if (/->\s*(\[[^\]]*)?[A-Za-z0-9_]*$/.test(p)) return [...stakeholders(idx), ...variables(idx)];
  const assigned = /^\s*(let|context)?\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(p);
  if (assigned) {
    if (assigned[1] === "context") return conditionNames(idx);
    if (assigned[1] === "let") return variables(idx);
    return valuesFor(specAt(cursor, assigned[2]!, declaredTypes(a.check))?.type, idx);
  }
  if (/^\s*[A-Za-z_]*$/.test(p)) return names(cursor, declaredTypes(a.check));
  return [];
}

function specAt(cursor: Cursor, name: string, declared: DeclaredTypes | undefined): AttributeSpec | undefined {
  const inner = cursor.blocks.at(-1);
  const outer = cursor.blocks.length > 1 ? cursor.blocks.at(-2)!.keyword : undefined;
  return inner ? attributesFor(inner.keyword, outer, declared)?.get(name) : undefined;
}

/** At the start of a line: declarations at the top, attributes (and promise types in a control) inside a block. */
function names(cursor: Cursor, declared: DeclaredTypes | undefined): CompletionItem[] {
  const inner = cursor.blocks.at(-1);
  if (!inner) return STATEMENTS.map((k) => ({ label: k, kind: CompletionItemKind.Keyword }));
  const outer = cursor.blocks.length > 1 ? cursor.blocks.at(-2)!.keyword : undefined;
  const items: CompletionItem[] = [];
  // a site's own type is described by the policy: its words are shown as text
  const own = outer === "control" && !promiseTypes.has(inner.keyword);
  for (const spec of attributesFor(inner.keyword, outer, declared)?.values() ?? []) {
    const documentation = doc(own ? plain(describeAttribute(spec, inner.keyword)) : describeAttribute(spec, inner.keyword));
    items.push({ label: spec.name, kind: CompletionItemKind.Property, detail: spec.required ? "required" : "attribute", documentation, insertText: `${spec.name} = `, sortText: `${spec.required ? "0" : "1"}${spec.name}` });
  }
  if (inner.keyword === "control" && outer === undefined) {
    for (const t of [...promiseTypes.values(), ...(declared?.specs.values() ?? [])]) {
      const described = describePromiseType(t);
      items.push({ label: t.name, kind: CompletionItemKind.Class, detail: "promise type", documentation: doc(promiseTypes.has(t.name) ? described : plain(described)), insertText: t.promiser ? `${t.name} "$1" {\n  $0\n}` : `${t.name} {\n  $0\n}`, insertTextFormat: InsertTextFormat.Snippet, sortText: `2${t.name}` });
    }
  }
  return items;
}

function valuesFor(type: ValueType | undefined, idx: NameIndex): CompletionItem[] {
  switch (type?.kind) {
    case "enum":
      return type.values.map((v) => ({ label: v, kind: CompletionItemKind.EnumMember }));
    case "boolean":
      return ["true", "false", ...(type.or ?? [])].map((v) => ({ label: v, kind: CompletionItemKind.Value }));
    case "stakeholder":
      return [...stakeholders(idx), ...variables(idx)];
    case "condition":
      return conditionNames(idx);
    case "list":
    case "oneOrMany":
      return [...valuesFor(type.of, idx).filter((i) => i.kind === CompletionItemKind.EnumMember), ...variables(idx)];
    default:
      return variables(idx);
  }
}

const variables = (idx: NameIndex): CompletionItem[] => [...idx.declared.variable.keys()].map((n) => ({ label: n, kind: CompletionItemKind.Variable, detail: "variable" }));
const stakeholders = (idx: NameIndex): CompletionItem[] => [...idx.declared.stakeholder.keys()].map((n) => ({ label: n, kind: CompletionItemKind.Constant, detail: "stakeholder" }));
const conditionNames = (idx: NameIndex): CompletionItem[] => [
  ...[...idx.declared.context.keys()].map((n) => ({ label: n, kind: CompletionItemKind.Function, detail: "context" })),
  ...factCatalogue.map((f) => ({ label: f.name, kind: CompletionItemKind.Field, detail: "fact", documentation: doc(f.description) })),
];

function inString(a: At, cursor: Cursor, idx: NameIndex): CompletionItem[] {
  const interpolation = /\$\{[A-Za-z0-9_]*$/.test(cursor.inString!);
  if (interpolation) return variables(idx);
  if (/^\s*import\s+"[^"]*$/.test(cursor.linePrefix)) {
    // the policy's other files, as a path from this one's directory
    const here = dirname(resolve(a.shown));
    return a.check.files
      .filter((f) => f.path !== a.shown)
      .map((f) => relative(here, resolve(f.path)))
      .map((p) => ({ label: p, kind: CompletionItemKind.File }));
  }
  if (/^\s*waiver\s+"[^"]*$/.test(cursor.linePrefix)) return [...idx.declared.control.keys()].map((id) => ({ label: id, kind: CompletionItemKind.Reference, detail: "control" }));
  return [];
}
