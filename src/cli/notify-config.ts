// The notification configuration as commands use it: found (--config, /etc/covenant as root,
// ./covenant.yaml), loaded and validated whole before anything starts, its errors said with their
// positions (exit 2), and the context channels are made with (secrets read only then).
import { findConfig, loadConfig, type ConfigDiagnostic } from "../config/load.js";
import { readSecret } from "../config/secrets.js";
import type { NotifyConfig } from "../config/types.js";
import type { ChannelContext } from "../notifiers/contract.js";
import { runningAsRoot } from "../trust/strict-modes.js";
import { escapeText } from "./escape.js";
import type { Io } from "./io.js";
import type { Style } from "./style.js";

export type ConfigOutcome = { status: "none" } | { status: "ok"; config: NotifyConfig; warnings: ConfigDiagnostic[] } | { status: "bad" };

/** Finds and loads the configuration; a bad one is reported on stderr in full. */
export function resolveNotifyConfig(explicit: string | undefined, io: Io, command: string): ConfigOutcome {
  const root = runningAsRoot();
  const path = findConfig({ ...(explicit !== undefined ? { explicit } : {}), root, cwd: process.cwd() });
  if (path === undefined) return { status: "none" };
  const loaded = loadConfig(path, { root });
  const errors = loaded.diagnostics.filter((d) => d.severity === "error");
  if (!loaded.config || errors.length > 0) {
    for (const d of errors) io.err(renderConfigDiagnostic(d, io.errStyle));
    io.err(`covenant ${command}: the configuration ${escapeText(path)} has ${errors.length} error${errors.length === 1 ? "" : "s"}; nothing was started`);
    return { status: "bad" };
  }
  return { status: "ok", config: loaded.config, warnings: loaded.diagnostics.filter((d) => d.severity !== "error") };
}

export function renderConfigDiagnostic(d: ConfigDiagnostic, style: Style): string {
  const sev = d.severity === "error" ? style.red(style.bold("error")) : style.yellow(style.bold("warning"));
  const lines = [`${style.bold(`${escapeText(d.file)}:${d.line}:${d.column}:`)} ${sev} ${style.bold(d.code)}: ${escapeText(d.message)}`];
  if (d.text) lines.push(`  ${style.dim("at")}: ${escapeText(d.text)}`);
  if (d.suggestion) lines.push(`  ${style.green("help")}: ${escapeText(d.suggestion)}`);
  return lines.join("\n");
}

export function channelContext(now: () => Date = () => new Date()): ChannelContext {
  const root = runningAsRoot();
  return { readSecret: (ref, what) => readSecret(ref, what, { root }), now };
}
