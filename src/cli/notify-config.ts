// The notification configuration as commands use it: found (--config, /etc/covenant as root,
// ./covenant.yaml), loaded and validated whole before anything starts, its errors said with their
// positions (exit 2), and the context channels are made with (secrets read only then). The loader
// (yaml, the schema's validator) is loaded only when there is a file to load: a host without a
// configuration, or a run with nothing to tell, starts no faster or slower than before.
import type { ConfigDiagnostic } from "../config/diagnostic.js";
import { findConfig } from "../config/locate.js";
import type { NotifyConfig } from "../config/types.js";
import type { ChannelContext } from "../notifiers/contract.js";
import { runningAsRoot } from "../trust/strict-modes.js";
import { escapeText } from "./escape.js";
import { handOverFromSnapshot } from "./hand-over.js";
import type { Io } from "./io.js";
import { SourceMap } from "../parser/source-map.js";
import { renderDiagnostic } from "./render.js";

export type ConfigOutcome = { status: "none" } | { status: "ok"; config: NotifyConfig; warnings: ConfigDiagnostic[] } | { status: "bad" };

/** Finds and loads the configuration; a bad one is reported on stderr in full, as `check` reports it. */
export async function resolveNotifyConfig(explicit: string | undefined, io: Io, command: string): Promise<ConfigOutcome> {
  const root = runningAsRoot();
  const path = findConfig({ ...(explicit !== undefined ? { explicit } : {}), root, cwd: process.cwd() });
  if (path === undefined) return { status: "none" };
  const { loadConfig } = await import("../config/load.js");
  const loaded = loadConfig(path, { root });
  const errors = loaded.diagnostics.filter((d) => d.severity === "error");
  if (!loaded.config || errors.length > 0) {
    // the run snapshot holds no configuration check (src/config/check.ts; hand-over.ts): nothing was started yet
    handOverFromSnapshot("a configuration with errors");
    const { toDiagnostic } = await import("../config/check.js");
    const map = new SourceMap([]);
    // the text with any secret blotted out, for the excerpt under each error
    if (loaded.text !== undefined) map.add(path, loaded.text);
    for (const d of errors) io.err(`${renderDiagnostic(toDiagnostic(d), map, io.errStyle)}\n`);
    io.err(`covenant ${command}: the configuration ${escapeText(path)} has ${errors.length} error${errors.length === 1 ? "" : "s"}; nothing was started`);
    return { status: "bad" };
  }
  return { status: "ok", config: loaded.config, warnings: loaded.diagnostics.filter((d) => d.severity !== "error") };
}

/** The configuration a command cannot do without: none, or a bad one, is said on stderr (exit 2 for the caller). */
export async function requireNotifyConfig(explicit: string | undefined, io: Io, command: string, hint = ""): Promise<NotifyConfig | undefined> {
  const found = await resolveNotifyConfig(explicit, io, command);
  if (found.status === "ok") return found.config;
  if (found.status === "none") io.err(`covenant ${command}: notifications are not configured (no covenant.yaml: give one with --config${hint})`);
  return undefined;
}

/** What channels are made with: secrets read by root's rule, only when a channel is made. */
export async function channelContext(now: () => Date = () => new Date()): Promise<ChannelContext> {
  const root = runningAsRoot();
  const { readSecret } = await import("../config/secrets.js");
  return { readSecret: (ref, what) => readSecret(ref, what, { root }), now };
}
