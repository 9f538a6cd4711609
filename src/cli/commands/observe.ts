// `covenant observe <probe> [filters]`: what a probe sees now, so that a policy author can see
// the facts a promise will be judged on.
import * as connections from "../../probes/connections.js";
import * as locks from "../../probes/locks.js";
import { readProcess, readProcesses } from "../../probes/processes.js";
import * as accounts from "../../probes/accounts.js";
import type { ProbeResult, ProbeRoots, Skip } from "../../probes/result.js";
import { tcpStates, type TcpState } from "../../probes/tcp.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { renderTable } from "../table.js";

export interface ObserveOptions {
  json: boolean;
  procRoot: string;
  etcRoot: string;
}

function roots(o: ObserveOptions): ProbeRoots {
  return { proc: o.procRoot, etc: o.etcRoot };
}

function report<T>(result: ProbeResult<T>, io: Io, opts: ObserveOptions, toJson: (v: T) => unknown, toText: (v: T) => string): number {
  if (!result.ok) {
    // Could not observe: say exactly why; never print an empty table as if nothing were there.
    if (opts.json) io.out(JSON.stringify({ error: result.error }, null, 2));
    else io.err(`covenant: cannot observe: ${result.error.message} (${result.error.code})`);
    return EXIT.policyError;
  }
  if (opts.json) io.out(JSON.stringify({ data: toJson(result.value), skipped: result.skipped }, null, 2));
  else {
    io.out(toText(result.value));
    if (result.skipped.length > 0) io.out(skippedNote(result.skipped));
  }
  return EXIT.ok;
}

function skippedNote(skipped: Skip[]): string {
  const byReason = new Map<string, number>();
  for (const s of skipped) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1);
  return `skipped: ${[...byReason].map(([r, n]) => `${n} × ${r}`).join("; ")}`;
}

export interface ConnectionFilters {
  port?: string;
  localPort?: string;
  remotePort?: string;
  state?: string;
  remote?: string;
  listening?: boolean;
}

export function observeConnections(f: ConnectionFilters, opts: ObserveOptions, io: Io): number {
  const num = (s: string | undefined, what: string) => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${what} must be a port number, got \`${s}\``);
    return n;
  };
  const state = f.listening ? "LISTEN" : f.state?.toUpperCase();
  if (state !== undefined && !tcpStates.includes(state as TcpState)) throw new UsageError(`unknown state \`${f.state}\`; states: ${tcpStates.filter(Boolean).join(", ")}`);
  const filter = {
    ...(state !== undefined ? { state: state as TcpState } : {}),
    ...(f.localPort !== undefined || f.port !== undefined ? { localPort: num(f.localPort ?? f.port, "--port")! } : {}),
    ...(f.remotePort !== undefined ? { remotePort: num(f.remotePort, "--remote-port")! } : {}),
    ...(f.remote !== undefined ? { remoteAddress: f.remote } : {}),
  };
  return report(
    connections.read(roots(opts), filter),
    io,
    opts,
    (v) => v,
    (v) =>
      renderTable(
        ["STATE", "LOCAL", "REMOTE", "USER", "PROCESS"],
        v.map((c) => [
          c.state,
          `${bracket(c.localAddress)}:${c.localPort}`,
          c.state === "LISTEN" ? "*" : `${bracket(c.remoteAddress)}:${c.remotePort}`,
          c.user ?? String(c.uid),
          c.owners.map((o) => `${o.comm}(${o.pid})`).join(",") || "-",
        ]),
      ) + `\n${v.length} connection${v.length === 1 ? "" : "s"}`,
  );
}

function bracket(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

export function observeProcesses(name: string | undefined, opts: ObserveOptions, io: Io): number {
  const users = accounts.read(roots(opts));
  const result = readProcesses(roots(opts));
  const userName = (uid: number) => (users.ok ? users.value.userByUid.get(uid)?.name : undefined) ?? String(uid);
  const filtered: typeof result = result.ok ? { ...result, value: result.value.filter((p) => name === undefined || p.comm === name) } : result;
  return report(
    filtered,
    io,
    opts,
    (v) => v.map((p) => ({ ...p, user: userName(p.uid) })),
    (v) =>
      renderTable(
        ["PID", "PPID", "USER", "STATE", "NAME", "COMMAND"],
        v.map((p) => [String(p.pid), String(p.ppid), userName(p.uid), p.state, p.comm, p.argv.join(" ").slice(0, 80)]),
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
          l.path ?? `${l.major}:${l.minor}:${l.inode}`,
        ]),
      ) + `\n${v.length} lock${v.length === 1 ? "" : "s"}`,
  );
}

export class UsageError extends Error {}
