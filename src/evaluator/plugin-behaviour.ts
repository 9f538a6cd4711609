// The behaviour of a site's own promise type (`promise_type`): observe and repair are the
// plugin's, over the JSON-lines protocol (plugin-protocol.ts); judging is reading its verdict.
// A repair is a Change like any other, so a dry run or a sandbox holds it and the run's record
// keeps it; the engine then evaluates again, so `repaired` means the plugin now says `kept`.
import type { DeclaredPromiseType, CheckedPromise } from "../checker/policy.js";
import type { Change } from "./change-gate.js";
import type { Difference, EvalContext, Observation, PromiseBehaviour } from "./contract.js";
import { callPlugin, readEvaluateReply, type EvaluateReply, type PluginDifference, type PluginRequest } from "./plugin-protocol.js";

/** One operation's cap when the declaration sets no `timeout`. */
export const DEFAULT_PLUGIN_TIMEOUT_MS = 30_000;

/** What a plugin is asked about a promise: its type, promiser and own attributes (checked values). */
export function pluginRequest(type: DeclaredPromiseType, p: CheckedPromise, operation: PluginRequest["operation"]): PluginRequest {
  const attributes: Record<string, unknown> = {};
  // `repair`, `timeout` and `comment` are Covenant's, not the plugin's
  for (const [k, v] of Object.entries(p.attributes)) if (k !== "repair" && k !== "timeout" && k !== "comment") attributes[k] = v;
  return { operation, type: type.name, promiser: p.promiser ?? null, attributes };
}

export function pluginBehaviour(type: DeclaredPromiseType): PromiseBehaviour<Extract<EvaluateReply, { result: "kept" | "drift" }>> {
  const timeoutMs = type.timeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
  return {
    notInSandbox: `a plugin (${type.command[0]}) observes the host itself, not the sandbox`,
    async observe(p: CheckedPromise, ctx: EvalContext): Promise<Observation<Extract<EvaluateReply, { result: "kept" | "drift" }>>> {
      let raw: Record<string, unknown>;
      try {
        raw = await callPlugin(type.command, pluginRequest(type, p, "evaluate"), timeoutMs, ctx.signal);
      } catch (err) {
        return { ok: false, error: (err as Error).message };
      }
      const reply = readEvaluateReply(raw);
      if (typeof reply === "string") return { ok: false, error: `the plugin ${type.command[0]} broke the protocol: ${reply}` };
      if (reply.result === "error") return { ok: false, error: `the plugin ${type.command[0]} could not evaluate the promise: ${reply.message}` };
      return { ok: true, value: reply };
    },
    judge(p, observed): Difference[] {
      if (observed.result === "kept") return [];
      const subject = typeof p.promiser === "string" ? p.promiser : undefined;
      return observed.differences.map((d) => toDifference(d, subject));
    },
    repair(p, observed, differences): Change[] {
      if (p.attributes["repair"] !== true || observed.result !== "drift" || differences.length === 0) return [];
      const request = pluginRequest(type, p, "repair");
      request.differences = observed.differences;
      return [{ op: "plugin", type: type.name, argv: type.command, request, timeoutMs }];
    },
  };
}

function toDifference(d: PluginDifference, subject: string | undefined): Difference {
  const out: Difference = { attribute: d.attribute || "promise", expected: d.expected, observed: d.observed, reason: d.reason };
  if (subject !== undefined) out.subject = subject;
  return out;
}
