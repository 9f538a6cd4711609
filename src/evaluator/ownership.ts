// What `file` and `directory` judge and repair the same way: mode, owner and group, and a path
// promised absent.
import type { CheckedPromise } from "../checker/policy.js";
import type { FileStat } from "../probes/files.js";
import { modeText } from "../probes/files.js";
import type { Change } from "./change-gate.js";
import { attr, type Difference, type EvalContext } from "./contract.js";
import { identityOf } from "../probes/file-identity.js";

export interface OwnershipWanted {
  mode?: number;
  maxMode?: number;
  owner?: string;
  group?: string;
  /** repairs may change a regular file with more than one hard link */
  allowHardlinks?: boolean;
}

export function ownershipOf(p: CheckedPromise): OwnershipWanted {
  const w: OwnershipWanted = {};
  const mode = attr<number>(p, "mode");
  const maxMode = attr<number>(p, "max_mode");
  const owner = attr<string>(p, "owner");
  const group = attr<string>(p, "group");
  if (mode !== undefined) w.mode = mode;
  if (maxMode !== undefined) w.maxMode = maxMode;
  if (owner !== undefined) w.owner = owner;
  if (group !== undefined) w.group = group;
  if (attr<boolean>(p, "allow_hardlinks")) w.allowHardlinks = true;
  return w;
}

export function judgeOwnership(w: OwnershipWanted, subject: string, st: FileStat, ctx: EvalContext, out: Difference[]): void {
  if (w.mode !== undefined && st.mode !== w.mode) {
    out.push({ subject, attribute: "mode", expected: modeText(w.mode), observed: modeText(st.mode), reason: `${subject}: mode is ${modeText(st.mode)}, promised ${modeText(w.mode)}` });
  }
  if (w.maxMode !== undefined && (st.mode & ~w.maxMode) !== 0) {
    out.push({
      subject,
      attribute: "max_mode",
      expected: `at most ${modeText(w.maxMode)}`,
      observed: modeText(st.mode),
      reason: `${subject}: mode ${modeText(st.mode)} has bits outside ${modeText(w.maxMode)} (${modeText(st.mode & ~w.maxMode)})`,
    });
  }
  // compared by id: two names for one uid are one account
  if (w.owner !== undefined) {
    const uid = ctx.snapshot.uidOf(w.owner);
    if (uid !== st.uid) {
      const name = ctx.snapshot.userName(st.uid);
      const unknown = uid === undefined ? ` (no user \`${w.owner}\` on this host)` : "";
      out.push({ subject, attribute: "owner", expected: w.owner, observed: name, reason: `${subject}: owner is ${name}, promised ${w.owner}${unknown}` });
    }
  }
  if (w.group !== undefined) {
    const gid = ctx.snapshot.gidOf(w.group);
    if (gid !== st.gid) {
      const name = ctx.snapshot.groupName(st.gid);
      const unknown = gid === undefined ? ` (no group \`${w.group}\` on this host)` : "";
      out.push({ subject, attribute: "group", expected: w.group, observed: name, reason: `${subject}: group is ${name}, promised ${w.group}${unknown}` });
    }
  }
}

/** chmod/chown changes for the differences found on one path; ids that do not exist cannot be set. */
export function planOwnership(w: OwnershipWanted, hostPath: string, st: FileStat, differences: Difference[], subject: string, ctx: EvalContext): Change[] {
  const mine = differences.filter((d) => d.subject === subject);
  const out: Change[] = [];
  if (st.type === "symlink") return out; // a link's own mode means nothing; its owner is not what is promised
  // the gate changes only the object observed here: same device and inode, or nothing
  const guard = { expect: identityOf(st), allowHardlinks: w.allowHardlinks === true };
  if (mine.some((d) => d.attribute === "mode") && w.mode !== undefined) out.push({ op: "chmod", path: hostPath, mode: w.mode, ...guard });
  else if (mine.some((d) => d.attribute === "max_mode") && w.maxMode !== undefined) out.push({ op: "chmod", path: hostPath, mode: st.mode & w.maxMode, ...guard });
  const chown = chownTo(hostPath, { owner: mine.some((d) => d.attribute === "owner") ? w.owner : undefined, group: mine.some((d) => d.attribute === "group") ? w.group : undefined }, ctx);
  if (chown) out.push({ ...chown, ...guard });
  return out;
}

/** A chown to the named owner and group, as far as those accounts exist; undefined when neither does. */
export function chownTo(hostPath: string, names: { owner?: string | undefined; group?: string | undefined }, ctx: EvalContext): Change | undefined {
  const uid = names.owner !== undefined ? ctx.snapshot.uidOf(names.owner) : undefined;
  const gid = names.group !== undefined ? ctx.snapshot.gidOf(names.group) : undefined;
  if (uid === undefined && gid === undefined) return undefined;
  const c: Change = { op: "chown", path: hostPath };
  if (uid !== undefined) {
    c.uid = uid;
    c.owner = names.owner!;
  }
  if (gid !== undefined) {
    c.gid = gid;
    c.group = names.group!;
  }
  return c;
}

/** The policy path of a host path, for messages (a sandbox's root is not part of the promise). */
export function policyPathOf(hostPath: string, ctx: EvalContext): string {
  const prefix = ctx.hostPath("/").replace(/\/$/, "");
  return prefix && hostPath.startsWith(prefix + "/") ? hostPath.slice(prefix.length) : hostPath;
}

/** What `exists` promises of a `file` or `directory`: `optional` is the "if present" form. */
export function existence(p: CheckedPromise): "present" | "absent" | "optional" {
  const e = p.attributes["exists"];
  return e === false ? "absent" : e === "optional" ? "optional" : "present";
}

/** For `exists = false`: a difference for each path (file or directory) that is there. */
export function presentButPromisedAbsent(entries: { path: string; stat?: FileStat | undefined }[]): Difference[] {
  return entries
    .filter((e) => e.stat)
    .map((e) => ({ subject: e.path, attribute: "exists", expected: "absent", observed: "present", reason: `${e.path} exists, promised absent` }));
}
