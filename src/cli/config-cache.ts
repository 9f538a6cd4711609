// The configuration cache: `run` and `watch` keep covenant.yaml as they loaded it (the
// NotifyConfig and its warnings) in the state directory (config.cache), keyed by the file's path
// and text, and use it instead of parsing and validating the file again when its text is
// unchanged. Loading costs a run more than anything else it does for a small policy: the YAML
// library and the schema's validator (~30 ms), and ICU's time zones, which validating a
// stakeholder's `timezone` loads (~25 ms and 8 MB more resident memory, for every run of a host
// whose configuration names one; bench/README.md).
//
// What is cached is only what follows from the file's text and the ICU that judged its time
// zones (node's version, ICU's and its time zone data's are in the key). Every time, the file is
// still found, judged (as root: root's alone) and read, and each secret file and CA file it
// names is judged again where it is (it may have been changed since); a configuration with
// errors is never cached, and a file refused now means a full load, which says where it is
// named. Secrets proper are references (`*_env`, `*_file`), read only when a channel is made: the
// cache holds the references (a `password:` written in the file is an error, E318, never cached).
// What the file holds otherwise, the cache holds as the file does: a token written into a
// webhook's URL or a header is copied, into a file only its owner can read.
import { resolve } from "node:path";
import { deserialize, serialize } from "node:v8";
import type { ConfigDiagnostic } from "../config/diagnostic.js";
import { judgeCaFile, judgeSecretFile } from "../config/files.js";
import type { ChannelConfig, NotifyConfig, SecretRef } from "../config/types.js";
import { readCacheFile, sha256, writeCacheFile, type CacheIdentity, type CacheKind } from "./cache-file.js";

export const CONFIG_CACHE_FILE = "config.cache";
/** the layout of the file and of the NotifyConfig in it: a change to either is a new schema */
export const CONFIG_CACHE_SCHEMA = 1;
// covenant.yaml is at most 1 MiB (config/files.ts), but its aliases may repeat a list many times
// over in what it loads to: a configuration whose cache would be larger than this is loaded in
// full at every run (cache-file.ts writes none larger)
const CONFIG_CACHE: CacheKind = { file: CONFIG_CACHE_FILE, magic: "covenant config cache\n", schema: CONFIG_CACHE_SCHEMA, what: "the configuration cache", maxBytes: 16 * 1024 * 1024 };

/** A configuration as loaded without errors. */
export interface LoadedConfig {
  config: NotifyConfig;
  warnings: ConfigDiagnostic[];
}

/** What the cache is made from besides the text: the file, who judged it, and the ICU its time zones were validated by. */
function keyDigest(file: string, root: boolean): string {
  return sha256(JSON.stringify({ file: resolve(file), root, icu: process.versions.icu ?? null, tz: process.versions.tz ?? null }));
}

/** The configuration cached for this file and text, or why there is none to use. */
export function readConfigCache(dir: string, identity: CacheIdentity, file: string, text: string, root: boolean): LoadedConfig | { why: string } {
  const found = readCacheFile(dir, CONFIG_CACHE, identity, (h) => {
    if (h["key"] !== keyDigest(file, root)) return "written for another file";
    return h["text"] !== sha256(text) ? "the configuration changed" : undefined;
  });
  if ("why" in found) return found;
  let loaded: LoadedConfig;
  try {
    loaded = deserialize(found.payload) as LoadedConfig;
  } catch {
    return { why: "damaged (its configuration cannot be decoded)" };
  }
  const c = loaded?.config;
  if (!c || !(c.stakeholders instanceof Map) || !(c.channels instanceof Map) || !Array.isArray(loaded.warnings)) return { why: "damaged (its configuration cannot be decoded)" };
  return loaded;
}

/** Writes the cache of a configuration loaded without errors from `text` into `dir` (made sure of: ensureStateDir), atomically. */
export function writeConfigCache(dir: string, identity: CacheIdentity, file: string, text: string, root: boolean, loaded: LoadedConfig): void {
  writeCacheFile(dir, CONFIG_CACHE, identity, { key: keyDigest(file, root), text: sha256(text) }, serialize({ config: loaded.config, warnings: loaded.warnings }));
}

/** Every secret file the configuration names, by its channel. */
export function secretFilesOf(config: NotifyConfig): { channel: string; path: string }[] {
  const out: { channel: string; path: string }[] = [];
  const add = (channel: ChannelConfig, ref: SecretRef | undefined) => {
    if (ref !== undefined && "file" in ref) out.push({ channel: channel.name, path: ref.file });
  };
  for (const c of config.channels.values()) {
    if (c.type === "email" || c.type === "alertmanager") add(c, c.auth?.password);
    else if (c.type === "twilio") add(c, c.authToken);
    else if (c.type === "webhook") add(c, c.secret);
  }
  return out;
}

/** Why a cached configuration cannot be used now: a secret or CA file it names would be refused (a full load says where). */
export function secretFilesRefused(config: NotifyConfig, root: boolean): string | undefined {
  for (const { channel, path } of secretFilesOf(config)) {
    if (judgeSecretFile(path, root) !== undefined) return `a secret file of channel ${channel} is not as it was`;
  }
  for (const c of config.channels.values()) {
    if (c.type === "email" && c.caFile !== undefined && judgeCaFile(c.caFile, root) !== undefined) return `the CA file of channel ${c.name} is not as it was`;
  }
  return undefined;
}
