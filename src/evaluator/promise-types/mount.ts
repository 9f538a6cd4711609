import { posix } from "node:path";
import { mountOf, type Mount } from "../../probes/mountinfo.js";
import { attr, type Difference, type PromiseBehaviour } from "../contract.js";
import { skipNotes } from "../observation-notes.js";

interface MountObservation {
  path: string;
  /** the mount at exactly this path (the visible one, when mounts are stacked) */
  mount?: Mount;
  /** otherwise, the mount point the path lies on */
  within?: string;
}

/**
 * The kernel prints `noexec`, `nosuid` and `nodev` only when they are set; their absence is
 * the positive option. A policy may name either (`forbidden_options = ["exec"]`).
 */
const impliedByAbsence: Record<string, string> = { noexec: "exec", nosuid: "suid", nodev: "dev" };

function effectiveOptions(m: Mount): Set<string> {
  const set = new Set([...m.options, ...m.superOptions]);
  for (const [negative, positive] of Object.entries(impliedByAbsence)) if (!set.has(negative)) set.add(positive);
  return set;
}

/** `/srv/ledger/` and `/srv//ledger` are the mount point `/srv/ledger`. */
function normalised(path: string): string {
  const n = posix.normalize(path);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** Behaviour: reported only; remounting is left to the operators. */
export const mountBehaviour: PromiseBehaviour<MountObservation> = {
  // The path is compared with the mount table as the kernel reports it, not mapped through
  // ctx.hostPath: nothing on the disk is read, and a sandbox's directory holds no mounts.
  observe(p, ctx) {
    const r = ctx.snapshot.mounts();
    if (!r.ok) return { ok: false, error: `cannot read the mount table: ${r.error.message}` };
    const notes = skipNotes(r.skipped);
    const path = normalised(p.promiser as string);
    const found = mountOf(r.value, path);
    const value: MountObservation = { path };
    if (found?.mountPoint === path) value.mount = found;
    else if (found) value.within = found.mountPoint;
    return notes.length > 0 ? { ok: true, value, notes } : { ok: true, value };
  },

  judge(p, observed) {
    const { path, mount } = observed;
    const present = attr<boolean>(p, "present") ?? true;
    if (!mount) {
      if (!present) return [];
      const where = observed.within === undefined ? "" : ` (it lies on the mount at ${observed.within})`;
      return [{ attribute: "present", expected: "a mount point", observed: "not a mount point", reason: `${path} is not a mount point${where}` }];
    }
    const out: Difference[] = [];
    if (!present) {
      out.push({ attribute: "present", expected: "not a mount point", observed: `${mount.fsType} from ${mount.source}`, reason: `${path} is a mount point (${mount.fsType} from ${mount.source}), promised not to be` });
    }
    const fstype = attr<string>(p, "fstype");
    if (fstype !== undefined && mount.fsType !== fstype) {
      out.push({ attribute: "fstype", expected: fstype, observed: mount.fsType, reason: `${path}: file system type is ${mount.fsType}, promised ${fstype}` });
    }
    const source = attr<string>(p, "source");
    if (source !== undefined && mount.source !== source) {
      out.push({ attribute: "source", expected: source, observed: mount.source, reason: `${path}: mounted from ${mount.source}, promised ${source}` });
    }
    const set = effectiveOptions(mount);
    const shown = [...new Set([...mount.options, ...mount.superOptions])].join(",");
    for (const option of attr<string[]>(p, "options") ?? []) {
      if (!set.has(option)) out.push({ subject: option, attribute: "options", expected: "set", observed: shown, reason: `${path}: option ${option} is not set (mounted ${shown})` });
    }
    for (const option of attr<string[]>(p, "forbidden_options") ?? []) {
      if (set.has(option)) out.push({ subject: option, attribute: "forbidden_options", expected: "not set", observed: shown, reason: `${path}: forbidden option ${option} is set (mounted ${shown})` });
    }
    return out;
  },
};
