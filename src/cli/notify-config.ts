// The notification configuration as commands use it: found (--config, /etc/covenant as root,
// ./covenant.yaml), loaded and validated whole before anything starts, its errors said with their
// positions (exit 2), and the context channels are made with (secrets read only then). The loader
// (yaml, the schema's validator) is loaded only when there is a file to load and no cache of it
// (config-cache.ts): a host without a configuration, or a run of an unchanged one, does without.
import { resolve } from "node:path";
import type { ConfigDiagnostic } from "../config/diagnostic.js";
import { readConfigFile } from "../config/files.js";
import { findConfig } from "../config/locate.js";
import type { NotifyConfig } from "../config/types.js";
import type { ChannelContext } from "../notifiers/contract.js";
import { checkStateDirectory } from "../store/trust.js";
import { runningAsRoot } from "../trust/strict-modes.js";
import type { CacheOptions } from "./checked-policy.js";
import { readConfigCache, secretFilesRefused, writeConfigCache, type LoadedConfig } from "./config-cache.js";
import { escapeText } from "./escape.js";
import { handOverFromSnapshot } from "./hand-over.js";
import type { Io } from "./io.js";
import { SourceMap } from "../parser/source-map.js";
import { renderDiagnostic } from "./render.js";

/** How the configuration was had: from its cache, or loaded (and why the cache was not used), or without a cache. */
export type ConfigCacheUse = { state: "hit" } | { state: "loaded"; why: string } | { state: "off" };

export type ConfigOutcome =
  | { status: "none" }
  | {
      status: "ok";
      config: NotifyConfig;
      warnings: ConfigDiagnostic[];
      cache: ConfigCacheUse;
      /** writes the configuration's cache once the command made sure of its state directory: present after a load with a cache asked for */
      saveCache?: (stateDir: string) => void;
    }
  | { status: "bad" };

/**
 * Finds and loads the configuration; a bad one is reported on stderr in full, as `check` reports
 * it. With `cache` (run, watch), an unchanged file's configuration comes from its cache.
 */
export async function resolveNotifyConfig(explicit: string | undefined, io: Io, command: string, cache?: CacheOptions): Promise<ConfigOutcome> {
  const root = runningAsRoot();
  const path = findConfig({ ...(explicit !== undefined ? { explicit } : {}), root, cwd: process.cwd() });
  if (path === undefined) return { status: "none" };
  const file = resolve(path);
  let why = "";
  let text: string | undefined;
  if (cache) {
    // found, judged and read as every time; a file that cannot be, the full load reports
    const read = readConfigFile(file, root);
    if ("code" in read) why = "the configuration cannot be read";
    else {
      text = read.text;
      const hit = fromCache(cache, file, text, root);
      if ("config" in hit) return { status: "ok", ...hit, cache: { state: "hit" } };
      why = hit.why;
    }
  }
  // the run snapshot holds no configuration loader (YAML, the schema's validator; hand-over.ts): nothing was started yet
  handOverFromSnapshot(why === "" ? "a configuration loaded in full" : `the configuration cache: ${why}`);
  const { loadConfig, parseConfig } = await import("../config/load.js");
  // the text read above, not the file again: what is cached is what was checked
  const loaded = text !== undefined ? parseConfig(text, file, { root }) : loadConfig(path, { root });
  const errors = loaded.diagnostics.filter((d) => d.severity === "error");
  if (!loaded.config || errors.length > 0) {
    const { toDiagnostic } = await import("../config/check.js");
    const map = new SourceMap([]);
    // the text with any secret blotted out, for the excerpt under each error
    if (loaded.text !== undefined) map.add(path, loaded.text);
    for (const d of errors) io.err(`${renderDiagnostic(toDiagnostic(d), map, io.errStyle)}\n`);
    io.err(`covenant ${command}: the configuration ${escapeText(path)} has ${errors.length} error${errors.length === 1 ? "" : "s"}; nothing was started`);
    return { status: "bad" };
  }
  const ok: LoadedConfig = { config: loaded.config, warnings: loaded.diagnostics.filter((d) => d.severity !== "error") };
  if (!cache || text === undefined) return { status: "ok", ...ok, cache: cache ? { state: "loaded", why } : { state: "off" } };
  const [identity, checkedText] = [cache.identity, text];
  return { status: "ok", ...ok, cache: { state: "loaded", why }, saveCache: (stateDir) => writeConfigCache(stateDir, identity, file, checkedText, root, ok) };
}

/** The configuration from its cache when the file's text is the cache's and the secret and CA files it names would still be used; else why not. */
function fromCache(cache: CacheOptions, file: string, text: string, root: boolean): LoadedConfig | { why: string } {
  let dir: string;
  try {
    // as root, a state directory another user could change is refused later, with its fix; not read here
    dir = checkStateDirectory(cache.stateDir);
  } catch {
    return { why: "the state directory is not trusted" };
  }
  const found = readConfigCache(dir, cache.identity, file, text, root);
  if ("why" in found) return found;
  const refused = secretFilesRefused(found.config, root);
  return refused !== undefined ? { why: refused } : found;
}

/** Writes the configuration's cache into the state directory made sure of; what went wrong, if anything (the command goes on: the next one loads in full again). */
export function saveConfigCache(outcome: ConfigOutcome, stateDir: string): string | undefined {
  if (outcome.status !== "ok" || !outcome.saveCache) return undefined;
  try {
    outcome.saveCache(stateDir);
    return undefined;
  } catch (err) {
    return `the configuration cache could not be written in ${stateDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
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
  const { readCertificates, readSecret } = await import("../config/secrets.js");
  return { readSecret: (ref, what) => readSecret(ref, what, { root }), readCaFile: (path, what) => readCertificates(path, what, { root }), now };
}
