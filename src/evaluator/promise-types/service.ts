import * as services from "../../probes/services.js";
import type { Change } from "../change-gate.js";
import { attr, repairs, type Difference, type PromiseBehaviour } from "../contract.js";

/** Running as `systemctl is-active` counts it: a unit reloading its configuration still runs. */
function isRunning(u: services.UnitState): boolean {
  return u.activeState === "active" || u.activeState === "reloading";
}

export const serviceBehaviour: PromiseBehaviour<services.UnitState> = {
  observe(p, ctx) {
    // observe with the same systemctl the change gate repairs with
    const systemctl = ctx.gate.options.systemctl;
    const r = services.read(p.promiser as string, ctx.roots, systemctl === undefined ? {} : { systemctl });
    return r.ok ? { ok: true, value: r.value } : { ok: false, error: r.error.message };
  },

  judge(p, u) {
    const state = attr<string>(p, "state") ?? "running";
    const enabled = attr<boolean>(p, "enabled");
    const diffs: Difference[] = [];
    if ((state === "running") !== isRunning(u)) {
      diffs.push({ attribute: "state", expected: state, observed: `${u.activeState} (${u.subState})`, reason: `${u.unit} is ${u.activeState} (${u.subState}), promised ${state}` });
    }
    if (enabled !== undefined && enabled !== (u.unitFileState === "enabled")) {
      const promised = enabled ? "enabled" : "not enabled";
      // a transient unit has no unit file, so nothing can enable it at boot
      const observed = u.unitFileState === "" ? "transient" : u.unitFileState;
      const is = u.unitFileState === "" ? "is transient (no unit file)" : `is ${u.unitFileState} at boot`;
      diffs.push({ attribute: "enabled", expected: promised, observed, reason: `${u.unit} ${is}, promised ${promised}` });
    }
    return diffs;
  },

  repair(p, u, differences) {
    if (!differences.some((d) => d.attribute === "state")) return [];
    const verb = repairs(p)[0] as "start" | "restart" | "stop" | undefined;
    const wantRunning = (attr<string>(p, "state") ?? "running") === "running";
    // a verb that moves the unit away from the promised state is no repair
    const fits = wantRunning ? verb === "start" || verb === "restart" : verb === "stop";
    const changes: Change[] = fits ? [{ op: "systemctl", verb: verb!, unit: u.unit }] : [];
    return changes;
  },
};
