// Go to definition, find references and rename, over the folder's last check (names.ts).
import { realpathSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ResponseError, ErrorCodes, type Location, type Range, type TextEdit, type WorkspaceEdit } from "vscode-languageserver/node";
import { keywords } from "../parser/tokens.js";
import { SourceMap } from "../parser/source-map.js";
import { stakeholderEditsInConfig } from "./config-names.js";
import { rangeIn, uriOf } from "./convert.js";
import type { At } from "./features.js";
import { nameIndex, type NameKind, type Occurrence } from "./names.js";

const RENAMED: ReadonlySet<NameKind> = new Set(["variable", "context", "stakeholder"]);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KEYWORDS = new Set(keywords.map((k) => (k.PATTERN as RegExp).source.replace(/\\b/g, "")));

function occurrenceAt(a: At): Occurrence | undefined {
  return nameIndex(a.check).at(a.shown, a.offset);
}

const locationOf = (a: At, o: Occurrence): Location => ({ uri: uriOf(o.span.file), range: rangeIn(a.check.map, o.span) });

/** The file an import names, from the directory of the file that imports it (its real path), or undefined when there is none. */
function importTarget(o: Occurrence): string | undefined {
  try {
    return realpathSync(resolve(dirname(resolve(o.span.file)), o.name));
  } catch {
    return undefined;
  }
}

export function definition(a: At): Location[] | null {
  const o = occurrenceAt(a);
  if (!o) return null;
  if (o.kind === "import") {
    const target = importTarget(o);
    return target === undefined ? null : [{ uri: uriOf(target), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }];
  }
  const idx = nameIndex(a.check);
  const decls = o.kind === "fact" ? [] : idx.all.filter((x) => x.declaration && x.kind === o.kind && x.name === o.name);
  return decls.length > 0 ? decls.map((d) => locationOf(a, d)) : null;
}

export function references(a: At, includeDeclaration: boolean): Location[] | null {
  const o = occurrenceAt(a);
  if (!o) return null;
  if (o.kind === "import") {
    // every import of the same file, however each writes its path
    const target = importTarget(o);
    if (target === undefined) return null;
    return nameIndex(a.check)
      .all.filter((x) => x.kind === "import" && importTarget(x) === target)
      .map((x) => locationOf(a, x));
  }
  return nameIndex(a.check)
    .uses(o.kind, o.name)
    .filter((x) => includeDeclaration || !x.declaration)
    .map((x) => locationOf(a, x));
}

export function prepareRename(a: At): { range: Range; placeholder: string } | null {
  const o = occurrenceAt(a);
  if (!o || !RENAMED.has(o.kind)) throw new ResponseError(ErrorCodes.InvalidRequest, "only a variable, a context or a stakeholder can be renamed");
  return { range: rangeIn(a.check.map, o.span), placeholder: o.name };
}

/**
 * `configText` gives covenant.yaml's text as it is now (the editor's, else the file's): the check's
 * copy has its secrets blotted out, which can leave YAML that no longer parses (a secret written
 * as a block scalar), and a rename must see the stakeholder's every mention.
 */
export function rename(a: At, newName: string, configText: (path: string) => string | undefined = () => undefined): WorkspaceEdit | null {
  const o = occurrenceAt(a);
  if (!o || !RENAMED.has(o.kind)) throw new ResponseError(ErrorCodes.InvalidRequest, "only a variable, a context or a stakeholder can be renamed");
  if (!IDENTIFIER.test(newName) || KEYWORDS.has(newName)) throw new ResponseError(ErrorCodes.InvalidParams, `\`${newName}\` is not a name: a letter or _, then letters, digits or _, and not a keyword`);
  const idx = nameIndex(a.check);
  const taken = idx.declared.variable.get(newName) ?? idx.declared.context.get(newName) ?? idx.declared.stakeholder.get(newName);
  if (taken) throw new ResponseError(ErrorCodes.InvalidParams, `\`${newName}\` is already declared (a ${taken.kind}): the two would be confused`);
  // a stakeholder is named in covenant.yaml too (its people and channels, the routes to it)
  const config = a.check.configPath;
  const text = config === undefined || o.kind !== "stakeholder" ? undefined : (configText(config) ?? a.check.map.text(config));
  const inConfig = config !== undefined && text !== undefined ? stakeholderEditsInConfig(config, text, o.name, newName) : undefined;
  if (inConfig?.taken) throw new ResponseError(ErrorCodes.InvalidParams, `\`${newName}\` is already a stakeholder in ${config}: the two would be one`);
  if (inConfig?.aliased) throw new ResponseError(ErrorCodes.InvalidRequest, `${config} names \`${o.name}\` through a YAML anchor and alias (&, *): renaming it there would change, or miss, another place; write it out where the alias stands, then rename`);
  const changes: Record<string, TextEdit[]> = {};
  for (const x of idx.uses(o.kind, o.name)) (changes[uriOf(x.span.file)] ??= []).push({ range: rangeIn(a.check.map, x.span), newText: newName });
  if (inConfig && inConfig.edits.length > 0) {
    // positions in the text the edits were found in
    const lines = new SourceMap([]);
    lines.add(config!, text!);
    for (const e of inConfig.edits) (changes[uriOf(config!)] ??= []).push({ range: rangeIn(lines, e.span), newText: e.newText });
  }
  return { changes };
}
