// `covenant observe <probe> [filters]`: what a probe sees now, so that a policy author can see
// the facts a promise will be judged on.
import { factCatalogue } from "../../facts/catalog.js";
import { readFacts } from "../../facts/host.js";
import * as fileNr from "../../probes/file-nr.js";
import * as files from "../../probes/files.js";
import * as loadavg from "../../probes/loadavg.js";
import * as locks from "../../probes/locks.js";
import * as meminfo from "../../probes/meminfo.js";
import * as mountinfo from "../../probes/mountinfo.js";
import * as services from "../../probes/services.js";
import * as sysctl from "../../probes/sysctl.js";
import { readBootTime, readProcess, readProcesses, startedAt } from "../../probes/processes.js";
import * as accounts from "../../probes/accounts.js";
import type { ProbeResult, Skip } from "../../probes/result.js";
import { realpathSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { renderTable } from "../table.js";
import { report, roots, UsageError, type ObserveOptions } from "./observe-report.js";
import { identityOf } from "../../probes/file-identity.js";

export { UsageError } from "./observe-report.js";
export type { ObserveOptions } from "./observe-report.js";

export function observeAccounts(group: string | undefined, opts: ObserveOptions, io: Io): number {
  const result = accounts.read(roots(opts));
  return report(
    result,
    io,
    opts,
    (v) => ({
      superusers: accounts.superusers(v.users),
      groups: v.groups.filter((g) => group === undefined || g.name === group).map((g) => ({ ...g, members: accounts.membersOf(g, v.users) })),
    }),
    (v) => {
      const groups = v.groups.filter((g) => group === undefined || g.name === group);
      if (group !== undefined && groups.length === 0) return `no group \`${escapeText(group)}\` in ${escapeText(opts.etcRoot)}/group`;
      return `uid 0 accounts: ${escapeText(accounts.superusers(v.users).join(", "))}\n\n${renderTable(["GROUP", "GID", "MEMBERS"], groups.map((g) => [g.name, String(g.gid), accounts.membersOf(g, v.users).join(", ")]))}`;
    },
  );
}

export function observeProcesses(name: string | undefined, opts: ObserveOptions, io: Io): number {
  const users = accounts.read(roots(opts));
  const boot = readBootTime(roots(opts));
  const started = (ticks: number) => (boot === undefined ? "?" : (startedAt(boot, ticks)?.toISOString().replace(/\.\d+Z$/, "Z") ?? "?"));
  const result = readProcesses(roots(opts));
  const userName = (uid: number) => (users.ok ? users.value.userByUid.get(uid)?.name : undefined) ?? String(uid);
  const filtered: typeof result = result.ok ? { ...result, value: result.value.filter((p) => name === undefined || p.comm === name) } : result;
  return report(
    filtered,
    io,
    opts,
    (v) => v.map((p) => ({ ...p, user: userName(p.uid), ...(boot !== undefined ? { startedAt: startedAt(boot, p.startTicks)?.toISOString() ?? null } : {}) })),
    (v) =>
      renderTable(
        ["PID", "PPID", "USER", "STATE", "STARTED", "NAME", "COMMAND"],
        v.map((p) => [String(p.pid), String(p.ppid), userName(p.uid), p.state, started(p.startTicks), p.comm, p.argv.join(" ").slice(0, 80)]),
      ) + `\n${v.length} process${v.length === 1 ? "" : "es"}`,
  );
}

export function observeLocks(paths: string[], opts: ObserveOptions, io: Io): number {
  const all = locks.read(roots(opts));
  const result: ProbeResult<(locks.FileLock & { path?: string })[]> = !all.ok || paths.length === 0 ? all : locks.locksUnder(all.value, paths);
  if (result.ok && all.ok && paths.length > 0) result.skipped.unshift(...all.skipped);
  const comm = (pid: number) => {
    if (pid < 0) return "?";
    const p = readProcess(roots(opts), pid);
    return p.ok ? `${p.value.comm}(${pid})` : `(${pid}, ended)`;
  };
  return report(
    result,
    io,
    opts,
    (v) => v.map((l) => ({ ...l, end: Number.isFinite(l.end) ? l.end : "EOF" })),
    (v) =>
      renderTable(
        ["KIND", "ACCESS", "HOLDER", "RANGE", paths.length ? "PATH" : "DEVICE:INODE"],
        v.map((l) => [
          `${l.kind}${l.blocked ? " (waiting)" : ""}${l.mandatory ? " mandatory" : ""}`,
          l.access,
          comm(l.pid),
          `${l.start}-${Number.isFinite(l.end) ? l.end : "EOF"}`,
          l.path ?? locks.keyOfLock(l),
        ]),
      ) + `\n${v.length} lock${v.length === 1 ? "" : "s"}`,
  );
}

/** `--calendar` policy paths give the business calendar; without them, weekends only, host time zone. */
export async function observeFacts(policyPaths: string[], opts: ObserveOptions, io: Io): Promise<number> {
  let calendar;
  if (policyPaths.length > 0) {
    // loaded only here: the other probes must not pay for loading the policy parser
    const { checkPaths } = await import("../../checker/check.js");
    const checked = checkPaths(policyPaths);
    if (!checked.policy) throw new UsageError(`the policy in ${policyPaths.join(", ")} has errors: run \`covenant check\` on it`);
    calendar = checked.policy.calendar;
  }
  const facts = readFacts({ etcRoot: opts.etcRoot, ...(calendar ? { calendar } : {}) });
  return report(
    { ok: true, value: facts, skipped: [] },
    io,
    opts,
    (v) => Object.fromEntries(v),
    (v) => renderTable(["FACT", "VALUE", "MEANING"], factCatalogue.map((f) => [f.name, show(v.get(f.name)), f.description])),
  );
}

function show(v: unknown): string {
  if (v === undefined) return "(unknown)";
  return Array.isArray(v) ? v.join(", ") : String(v);
}

export function observeSystem(opts: ObserveOptions, io: Io): number {
  const r = roots(opts);
  const fh = fileNr.read(r);
  const la = loadavg.read(r);
  const mem = meminfo.read(r);
  // each counter stands alone: one unreadable file does not hide the others
  const rows: [string, string][] = [];
  const data: Record<string, unknown> = {};
  const skipped: Skip[] = [];
  const add = <T>(name: string, res: ProbeResult<T>, text: (v: T) => string) => {
    if (res.ok) {
      data[name] = res.value instanceof Map ? Object.fromEntries(res.value) : res.value;
      rows.push([name, text(res.value)]);
      skipped.push(...res.skipped);
    } else {
      data[name] = { error: res.error };
      rows.push([name, `cannot observe: ${res.error.message}`]);
    }
  };
  add("filehandles", fh, (v) => `${v.allocated} of ${v.max} (${v.usedPct.toFixed(2)}%)`);
  add("load", la, (v) => `${v.load1} ${v.load5} ${v.load15} (${v.running}/${v.total} running)`);
  add("memory", mem, (v) => `${(v.availableBytes / 2 ** 30).toFixed(1)} GiB available of ${(v.totalBytes / 2 ** 30).toFixed(1)} GiB`);
  if (opts.json) io.out(JSON.stringify({ data: { ...data, memory: mem.ok ? { totalBytes: mem.value.totalBytes, availableBytes: mem.value.availableBytes } : data["memory"] }, skipped }, null, 2));
  else io.out(renderTable(["COUNTER", "VALUE"], rows));
  return fh.ok && la.ok && mem.ok ? EXIT.ok : EXIT.policyError;
}

export function observeSysctl(keys: string[], opts: ObserveOptions, io: Io): number {
  const results = keys.map((k) => [k, sysctl.read(roots(opts), k)] as const);
  if (opts.json) io.out(JSON.stringify(Object.fromEntries(results.map(([k, r]) => [k, r.ok ? r.value : { error: r.error }])), null, 2));
  else io.out(renderTable(["KEY", "VALUE"], results.map(([k, r]) => [k, r.ok ? r.value : `cannot observe: ${r.error.message}`])));
  return results.every(([, r]) => r.ok) ? EXIT.ok : EXIT.policyError;
}

export function observeMounts(path: string | undefined, opts: ObserveOptions, io: Io): number {
  const all = mountinfo.read(roots(opts));
  const target = path === undefined ? undefined : realpathOrResolved(path);
  const result: ProbeResult<mountinfo.Mount[]> = all.ok && target !== undefined ? { ...all, value: [mountinfo.mountOf(all.value, target)].filter((m) => m !== undefined) } : all;
  return report(
    result,
    io,
    opts,
    (v) => v,
    (v) => renderTable(["MOUNT POINT", "TYPE", "SOURCE", "OPTIONS"], v.map((m) => [m.mountPoint, m.fsType, m.source, m.options.join(",")])),
  );
}

/** The canonical absolute path (links followed when the path exists). */
function realpathOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolvePath(path);
  }
}

export async function observeFile(path: string, hashAlg: string | undefined, opts: ObserveOptions, io: Io): Promise<number> {
  if (hashAlg !== undefined && hashAlg !== "sha256" && hashAlg !== "sha512") throw new UsageError(`--hash takes sha256 or sha512, not \`${hashAlg}\``);
  const st = files.stat(path);
  let result: ProbeResult<files.FileStat & { digest?: string }> = st;
  if (st.ok && hashAlg !== undefined && st.value.type === "file") {
    const h = await files.hash(path, hashAlg as files.HashAlgorithm, { expect: identityOf(st.value) });
    result = h.ok ? { ...st, value: { ...st.value, digest: `${hashAlg}:${h.value.digest}` } } : h;
  }
  const users = accounts.read(roots(opts));
  const name = (uid: number) => (users.ok ? users.value.userByUid.get(uid)?.name : undefined) ?? String(uid);
  const group = (gid: number) => (users.ok ? users.value.groups.find((g) => g.gid === gid)?.name : undefined) ?? String(gid);
  return report(
    result,
    io,
    opts,
    (v) => ({ ...v, modeText: files.modeText(v.mode), owner: name(v.uid), group: group(v.gid) }),
    (v) =>
      renderTable(
        ["PATH", "TYPE", "MODE", "OWNER", "GROUP", "SIZE", "MODIFIED", ...(v.digest ? ["DIGEST"] : [])],
        [[v.path + (v.linkTarget ? ` -> ${v.linkTarget}` : ""), v.type, files.modeText(v.mode), name(v.uid), group(v.gid), String(v.size), new Date(v.mtimeMs).toISOString(), ...(v.digest ? [v.digest] : [])]],
      ),
  );
}

export function observeService(unit: string, opts: ObserveOptions, io: Io): number {
  return report(
    services.read(unit, roots(opts)),
    io,
    opts,
    (v) => v,
    (v) => renderTable(["UNIT", "LOAD", "ACTIVE", "SUB", "ENABLED", "MAIN PID"], [[v.unit, v.loadState, v.activeState, v.subState, v.unitFileState, String(v.mainPid)]]),
  );
}
