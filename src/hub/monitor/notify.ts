// The covenant.yaml hub.yaml names (`notify:`), loaded with the loader a host uses (its routing
// tree, stakeholders and channels; secrets read from the environment or files only when a
// channel is made), and held against hub.yaml: every stakeholder the monitor's deficiencies name
// must be one covenant.yaml configures. A file with any error is refused whole, its problems
// said with their lines: the hub never starts telling people from a file it half understood.
import { loadConfig } from "../../config/load.js";
import type { NotifyConfig } from "../../config/types.js";
import type { ChannelContext } from "../../notifiers/contract.js";
import { runningAsRoot } from "../../trust/strict-modes.js";
import type { MonitorSettings } from "./settings.js";

/** How many of a bad file's problems the message lists. */
const SHOWN = 10;

/** The routing configuration, or the words that say what is wrong with it. */
export function loadMonitorNotify(settings: MonitorSettings, root = runningAsRoot()): { config?: NotifyConfig; problem?: string } {
  if (settings.notify === undefined) return {};
  const loaded = loadConfig(settings.notify, { root });
  const errors = loaded.diagnostics.filter((d) => d.severity === "error");
  if (!loaded.config || errors.length) {
    const lines = errors.slice(0, SHOWN).map((d) => `${d.file}:${d.line}:${d.column}: ${d.code}: ${d.message}`);
    const more = errors.length > SHOWN ? [`and ${errors.length - SHOWN} more`] : [];
    return { problem: `notify: ${settings.notify} has ${errors.length} error${errors.length === 1 ? "" : "s"}:\n${[...lines, ...more].join("\n")}` };
  }
  const config = loaded.config;
  const named = new Set<string>();
  for (const c of [settings.controls.silent, settings.controls.chain, settings.controls.massDrift]) {
    for (const s of c.stakeholders) named.add(s);
    if (c.owner !== undefined) named.add(c.owner);
  }
  const unknown = [...named].filter((s) => !config.stakeholders.has(s)).sort();
  if (unknown.length) return { problem: `deficiencies names stakeholder${unknown.length === 1 ? "" : "s"} ${unknown.join(", ")}, which ${settings.notify} does not configure (its stakeholders: ${[...config.stakeholders.keys()].sort().join(", ") || "none"})` };
  return { config };
}

/** What channels are made with: secrets read by root's rule when running as root, only when a channel is made. */
export async function monitorChannelContext(now: () => number, root = runningAsRoot()): Promise<ChannelContext> {
  const { readCertificates, readSecret } = await import("../../config/secrets.js");
  return { readSecret: (ref, what) => readSecret(ref, what, { root }), readCaFile: (path, what) => readCertificates(path, what, { root }), now: () => new Date(now()) };
}
