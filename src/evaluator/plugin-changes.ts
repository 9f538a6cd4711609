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

/** Asks the plugin to repair; a `failed` reply, or a broken one, fails the change with its reason. */
export async function applyPluginChange(c: PluginChange, signal?: AbortSignal): Promise<{ status: "skipped"; detail: string } | undefined> {
  const raw = await callPlugin(c.argv, c.request, c.timeoutMs, signal);
  const reply = readRepairReply(raw);
  if (typeof reply === "string") throw new Error(`the plugin ${c.argv[0]} broke the protocol: ${reply}`);
  if (reply.result === "failed") throw new Error(`the plugin ${c.argv[0]} could not repair: ${reply.message}`);
  return undefined;
}
