// The notification configuration as commands use it: found (--config, /etc/covenant as root,
// ./covenant.yaml), loaded and validated whole before anything starts, its errors said with their
// positions (exit 2), and the context channels are made with (secrets read only then).
import type { ConfigDiagnostic } from "../config/diagnostic.js";
import { findConfig, loadConfig } from "../config/load.js";
import { readSecret } from "../config/secrets.js";
import type { NotifyConfig } from "../config/types.js";
import type { ChannelContext } from "../notifiers/contract.js";
import { runningAsRoot } from "../trust/strict-modes.js";
import { escapeText } from "./escape.js";
import type { Io } from "./io.js";
import { toDiagnostic } from "./commands/check-config.js";
import { renderDiagnostic, SourceMap } from "./render.js";

export type ConfigOutcome = { status: "none" } | { status: "ok"; config: NotifyConfig; warnings: ConfigDiagnostic[] } | { status: "bad" };

/** Finds and loads the configuration; a bad one is reported on stderr in full, as `check` reports it. */
export function resolveNotifyConfig(explicit: string | undefined, io: Io, command: string): ConfigOutcome {
  const root = runningAsRoot();
  const path = findConfig({ ...(explicit !== undefined ? { explicit } : {}), root, cwd: process.cwd() });
  if (path === undefined) return { status: "none" };
  const loaded = loadConfig(path, { root });
  const errors = loaded.diagnostics.filter((d) => d.severity === "error");
  if (!loaded.config || errors.length > 0) {
    const map = new SourceMap([]);
    // the text with any secret blotted out, for the excerpt under each error
    if (loaded.text !== undefined) map.add(path, loaded.text);
    for (const d of errors) io.err(`${renderDiagnostic(toDiagnostic(d), map, io.errStyle)}\n`);
    io.err(`covenant ${command}: the configuration ${escapeText(path)} has ${errors.length} error${errors.length === 1 ? "" : "s"}; nothing was started`);
    return { status: "bad" };
  }
  return { status: "ok", config: loaded.config, warnings: loaded.diagnostics.filter((d) => d.severity !== "error") };
}

export function channelContext(now: () => Date = () => new Date()): ChannelContext {
  const root = runningAsRoot();
  return { readSecret: (ref, what) => readSecret(ref, what, { root }), now };
}
