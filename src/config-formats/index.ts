// The configuration formats the `config` promise type reads, by name: each a pure parser of one
// file's text (./<name>.ts) with the rule that picks which of several settings of a key the
// program uses, and how a repair writes a new setting.
import * as apt from "./apt.js";
import * as ini from "./ini.js";
import * as keyValue from "./key_value.js";
import * as loginDefs from "./login_defs.js";
import * as pam from "./pam.js";
import type { ConfigSetting, ParsedConfig, Wins } from "./setting.js";
import * as sshd from "./sshd.js";
import * as sudoers from "./sudoers.js";
import * as sysctl from "./sysctl.js";
import { dottedKey } from "../probes/sysctl-d.js";

export const configFormats = ["sshd", "login_defs", "key_value", "sysctl", "sudoers", "ini", "pam", "apt"] as const;
export type ConfigFormatName = (typeof configFormats)[number];

export interface FormatOptions {
  /** key_value: the separator (" ": any run of blanks) */
  separator: string;
  /** key_value: the comment markers */
  comments: string[];
  /** key_value: which setting of a key is used */
  wins: Wins;
}

export const defaultFormatOptions: FormatOptions = { separator: "=", comments: ["#"], wins: "last" };

/** The settings of one file of `format`; `block` is the sshd `Match` block an `Include` of it was in. */
export function parseConfig(format: ConfigFormatName, text: string, path: string, options: FormatOptions, block?: string): ParsedConfig {
  switch (format) {
    case "sshd":
      return sshd.parse(text, path, block);
    case "login_defs":
      return loginDefs.parse(text);
    case "key_value":
      return keyValue.parse(text, path, { separator: options.separator, comments: options.comments });
    case "sysctl":
      return sysctl.parse(text, path);
    case "sudoers":
      return sudoers.parse(text, path);
    case "ini":
      return ini.parse(text, path);
    case "pam":
      return pam.parse(text, path);
    case "apt":
      return apt.parse(text, path);
  }
}

/** Which of several settings of a key the program reading the file uses. */
export function winsOf(format: ConfigFormatName, options: FormatOptions): Wins {
  switch (format) {
    case "sshd":
      return "first";
    case "pam":
      return "all";
    case "key_value":
      return options.wins;
    default:
      return "last";
  }
}

/** A promised key (in `section`, for ini) as the format compares keys. */
export function keyOf(format: ConfigFormatName, key: string, section = ""): string {
  if (format === "ini") return ini.iniKey(section, key);
  // `password  pam_unix.so   remember`: one blank between the parts, as the parser keys them
  if (format === "pam") return key.trim().split(/\s+/).join(" ");
  // apt's lookups ignore case, as sshd's do
  if (format === "sshd" || format === "apt") return key.toLowerCase();
  if (format === "sysctl") return dottedKey(key);
  return key;
}

/** The line a repair adds to set `key` to `value`. */
export function renderSetting(format: ConfigFormatName, key: string, value: string, options: FormatOptions): string {
  switch (format) {
    case "sshd":
      return sshd.render(key, value);
    case "login_defs":
      return loginDefs.render(key, value);
    case "key_value":
      return keyValue.render(key, value, options.separator);
    case "sysctl":
      return sysctl.render(key, value);
    case "sudoers":
      return sudoers.render(key, value);
    case "ini":
      return ini.render(key, value);
    case "pam":
      // a module line is not added: where it goes in its stack is not the format's to say
      return "";
    case "apt":
      return apt.render(key, value);
  }
}

/** What a repair writes over a setting's span: its value, or (for an entry such as a sudoers flag) the whole entry. */
export function spanText(format: ConfigFormatName, setting: ConfigSetting, value: string): string {
  if (format === "pam") return setting.entry ? pam.renderArgument(setting.written, value) : value;
  if (format === "apt") return apt.renderValue(value);
  if (format !== "sudoers") return value;
  return setting.entry ? sudoers.renderEntry(setting.written, value) : sudoers.renderValue(value);
}

export type { ConfigSetting, ParsedConfig, Wins } from "./setting.js";
export { renderArgument as pamArgument } from "./pam.js";
