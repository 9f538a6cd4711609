// A repair by a site's plugin: the change gate's to make, as every change is, so that a dry run
// only reports it and a sandbox holds it.
import { callPlugin, readRepairReply, type PluginRequest } from "./plugin-protocol.js";

export interface PluginChange {
  op: "plugin";
  /** the declared promise type */
  type: string;
  argv: string[];
  request: PluginRequest;
  timeoutMs: number;
}

/**
 * Asks the plugin to repair; a `failed` reply, or a broken one, fails the change with its reason.
 * What the plugin says it changed is kept as the change's detail (escaped and cut: pluginText).
 */
export async function applyPluginChange(c: PluginChange, signal?: AbortSignal): Promise<{ status: "applied"; detail: string } | undefined> {
  const raw = await callPlugin(c.argv, c.request, c.timeoutMs, signal);
  const reply = readRepairReply(raw);
  if (typeof reply === "string") throw new Error(`the plugin ${c.argv[0]} broke the protocol: ${reply}`);
  if (reply.result === "failed") throw new Error(`the plugin ${c.argv[0]} could not repair: ${reply.message}`);
  return reply.changes.length > 0 ? { status: "applied", detail: reply.changes.join("; ") } : undefined;
}
