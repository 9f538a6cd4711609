// What every configuration format's parser returns: the settings of one file, each with where
// its value lies on its line, so that a repair can change that value and nothing else.
import type { Skip } from "../probes/result.js";

export interface ConfigSetting {
  /** the key as the format compares it (sshd: lower case; sysctl: dotted) */
  key: string;
  /** the key as written */
  written: string;
  /** the value as the program reading the file takes it (quotes removed, white space folded) */
  value: string;
  /** 1-based */
  line: number;
  /** where the value as written starts and ends on its line: what a repair replaces */
  valueStart: number;
  valueEnd: number;
  /** what a repair writes before a value where the line has none, not even a separator (login.defs `NAME` alone) */
  separatorMissing?: string;
  /** the span is the whole entry, not just its value (a sudoers flag `!use_pty`): a repair writes the format's whole entry */
  entry?: boolean;
  /** one of several settings on its line (a pam argument): a removal takes out this span alone, with the blanks before it */
  part?: { start: number; end: number };
  /** read, but never edited (a sudoers line continued over several lines, a list changed with `+=`) */
  fixed?: boolean;
  /** a block the setting applies in only (sshd: the `Match` line); absent: it applies everywhere */
  block?: string;
}

/** A line that names more files to read in its place (sshd `Include`). */
export interface ConfigInclude {
  line: number;
  /** absolute paths or globs */
  patterns: string[];
  /** pam `TYPE include FILE`: only the settings of that type (keys starting with this) are read from it */
  keyPrefix?: string;
  /**
   * a directory: `true` (sudoers `@includedir`) every file whose name has no `.` and does not end
   * in `~`; `"apt"` (apt `#include DIR/`) the files apt's ReadConfigDir reads
   */
  directory?: boolean | "apt";
  block?: string;
}

export interface ParsedConfig {
  settings: ConfigSetting[];
  includes: ConfigInclude[];
  /** the first line of a block (sshd: the first `Match`): a setting for everyone is added before it */
  firstBlockLine?: number;
  /** ini: for each section, the line a setting added to it goes before */
  sections?: Record<string, number>;
  skipped: Skip[];
}

/** Which of several settings of one key the program uses. */
/** `all`: every setting applies (the lines of a pam stack), so every one is judged */
export type Wins = "first" | "last" | "all";

/** Lines of a text as the edits keep them: split on `\n` only, so that `\r` and everything else stays byte for byte. */
export function splitLines(text: string): string[] {
  return text.split("\n");
}

/** The end of a line's content: before a `\r` of a CRLF file, and before trailing blanks. */
export function contentEnd(line: string): number {
  let end = line.length;
  while (end > 0 && (line[end - 1] === "\r" || line[end - 1] === " " || line[end - 1] === "\t")) end--;
  return end;
}
