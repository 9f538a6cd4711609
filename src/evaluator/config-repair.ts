// The edits a `config` repair makes: the value of the setting that applies (and of any block's
// that fails) changed in place, a line added where none sets the key, or every line that sets
// it taken out. Each edited file's new text is parsed again and checked to read back as intended
// before the edit is planned; the change gate then writes it only over the bytes observed.
import { pamArgument, parseConfig, renderSetting, spanText, type ConfigFormatName, type FormatOptions } from "../config-formats/index.js";
import { insertLine, removeLines, removeSpans, replaceValue } from "../config-formats/edit.js";
import type { ConfigFileText } from "../probes/config-files.js";
import type { Change } from "./change-gate.js";
import { parseUmask, valueFailure, type Comparisons, type FileVerdict } from "./config-judge.js";

export interface RepairTarget {
  format: ConfigFormatName;
  options: FormatOptions;
  /** the key as the policy writes it (what an added line says) */
  written: string;
  /** the key as the format compares it */
  key: string;
  /** ini: the section the key is in */
  section?: string;
  comparisons: Comparisons;
  /** how values are shown in the change's summary (withheld for a `secret`) */
  show: (value: string) => string;
}

/** The value `repair = set` writes: the promised one, or the smallest change that meets the promise. */
export function valueToSet(c: Comparisons, current: string | undefined): string | undefined {
  let v: string | undefined;
  if (c.equals !== undefined) v = c.equals;
  else if (c.oneOf) v = c.oneOf[0];
  else if (c.atMost !== undefined) v = String(c.atMost);
  else if (c.atLeast !== undefined) v = String(c.atLeast);
  else if (c.umaskAtLeast !== undefined) {
    const now = current === undefined ? undefined : parseUmask(current);
    const width = current !== undefined && now !== undefined ? Math.max(3, current.trim().length) : 3;
    v = ((now ?? 0) | c.umaskAtLeast).toString(8).padStart(width, "0");
  }
  // a value that would not read back as one value of one line is never written
  if (v === undefined || /[\x00-\x1f\x7f]/.test(v) || valueFailure(c, v) !== undefined) return undefined;
  return v;
}

export function planSet(v: FileVerdict, t: RepairTarget): Change[] {
  const texts = new Map<string, { file: ConfigFileText; text: string; lines: number[]; values: Set<string> }>();
  const edit = (path: string) => {
    const file = v.read.files.find((f) => f.path === path)!;
    let e = texts.get(path);
    if (!e) texts.set(path, (e = { file, text: file.text, lines: [], values: new Set<string>() }));
    return e;
  };
  // values changed in place first: a line added before a `Match` moves the lines after it
  const ordered = [...v.failures].sort((a, b) => Number(a.setting === undefined) - Number(b.setting === undefined));
  for (const f of ordered) {
    if (f.attribute === "absent" || f.attribute === "files") continue;
    const s = f.setting;
    if (s) {
      const value = valueToSet(t.comparisons, s.value);
      if (value === undefined || s.fixed) continue;
      const e = edit(s.path);
      e.text = replaceValue(e.text, s, spanText(t.format, s, value));
      e.lines.push(s.line);
      e.values.add(value);
      continue;
    }
    const main = v.read.files[0];
    const value = valueToSet(t.comparisons, undefined);
    if (!main || value === undefined) continue; // a file that does not exist is not created
    if (t.format === "pam") {
      addPamArgument(v, t, value, edit);
      continue;
    }
    const e = edit(main.path);
    const line = renderSetting(t.format, t.written, value, t.options);
    let before = main.firstBlockLine;
    if (t.format === "ini") {
      const section = t.section ?? "";
      before = main.sections?.[section];
      // a section the file lacks is added at its end (the section "" is the top of the file)
      if (before === undefined && section !== "") e.text = insertLine(e.text, `[${section}]`);
      if (before === undefined && section === "") before = 1;
    }
    e.text = insertLine(e.text, line, before);
    if (before !== undefined) e.lines = e.lines.map((l) => (l >= before ? l + 1 : l));
    e.lines.push(before ?? e.text.split("\n").length - 1);
    e.values.add(value);
  }
  return [...texts.values()].flatMap((e) => (readsBack(e.text, e.file, t, e.lines) ? [editChange(e.file, e.text, `set ${t.written} to ${[...e.values].map((x) => t.show(x)).join(", ")} (line ${e.lines.join(", ")})`)] : []));
}

/**
 * A pam argument no line has (`remember` of `password pam_unix.so`): added at the end of every
 * line of that module, as `name=value` (or `name` for "true"). A module with no line is not added:
 * where it belongs in its stack is not for a repair to guess.
 */
function addPamArgument(v: FileVerdict, t: RepairTarget, value: string, edit: (path: string) => { text: string; lines: number[]; values: Set<string> }): void {
  const parts = t.key.split(" ");
  if (parts.length !== 3) return;
  const base = `${parts[0]} ${parts[1]}`;
  for (const m of v.read.settings.filter((s) => s.key === base && !s.fixed)) {
    const e = edit(m.path);
    const lines = e.text.split("\n");
    const l = lines[m.line - 1]!;
    const end = l.replace(/[ \t\r]+$/, "").length;
    const hash = l.indexOf("#", m.valueEnd);
    const at = hash >= 0 && hash < end ? l.slice(0, hash).replace(/[ \t]+$/, "").length : end;
    lines[m.line - 1] = `${l.slice(0, at)} ${pamArgument(parts[2]!, value)}${l.slice(at)}`;
    e.text = lines.join("\n");
    e.lines.push(m.line);
    e.values.add(value);
  }
}

export function planRemove(v: FileVerdict, t: RepairTarget): Change[] {
  const out: Change[] = [];
  const byFile = new Map<string, number[]>();
  // a line that also holds other settings (a sudoers Defaults list) is not taken out; a pam line goes with its arguments
  const alone = (path: string, line: number) => v.read.settings.filter((s) => s.path === path && s.line === line && !s.part).length === 1;
  for (const f of v.failures) if (f.attribute === "absent" && f.setting && !f.setting.part && !f.setting.fixed && alone(f.setting.path, f.setting.line)) byFile.set(f.setting.path, [...(byFile.get(f.setting.path) ?? []), f.setting.line]);
  const parts = new Map<string, { start: number; end: number; line: number }[]>();
  for (const f of v.failures) if (f.attribute === "absent" && f.setting?.part && !f.setting.fixed) parts.set(f.setting.path, [...(parts.get(f.setting.path) ?? []), { ...f.setting.part, line: f.setting.line }]);
  for (const [path, spans] of parts) {
    const file = v.read.files.find((x) => x.path === path)!;
    const text = removeSpans(file.text, spans);
    if (readsBack(text, file, t, [])) out.push(editChange(file, text, `remove ${t.written} (line ${spans.map((x) => x.line).join(", ")})`));
  }
  for (const [path, lines] of byFile) {
    if (parts.has(path)) continue;
    const file = v.read.files.find((x) => x.path === path)!;
    const text = removeLines(file.text, lines);
    if (readsBack(text, file, t, [])) out.push(editChange(file, text, `remove ${t.written} (line ${lines.join(", ")})`));
  }
  return out;
}

/**
 * Whether the edited text, read again in the format, says what the edit meant to: each line set
 * now sets the key to a value that holds; after a removal, no line sets it.
 */
function readsBack(text: string, file: ConfigFileText, t: RepairTarget, setLines: number[]): boolean {
  if (file.notUtf8) return false; // its text is not its bytes: an edit would change other lines
  const settings = parseConfig(t.format, text, file.path, t.options, file.block).settings.filter((s) => s.key === t.key);
  if (setLines.length === 0) return settings.length === 0;
  return setLines.every((line) => settings.some((s) => s.line === line && valueFailure(t.comparisons, s.value) === undefined));
}

function editChange(file: ConfigFileText, content: string, summary: string): Change {
  return { op: "edit", path: file.hostPath, content, digest: file.digest, summary, expect: file.identity };
}
