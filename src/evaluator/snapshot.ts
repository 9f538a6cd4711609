// Observations shared by the promises of one run: the process table, the sockets, the locks,
// the accounts and the mounts are read once, when a promise first needs them, not once per
// promise. After the change gate changes the host, the engine drops them so that the
// confirming observation reads the host afresh.
import * as accounts from "../probes/accounts.js";
import * as connections from "../probes/connections.js";
import * as locks from "../probes/locks.js";
import * as mountinfo from "../probes/mountinfo.js";
import * as processes from "../probes/processes.js";
import type { ProbeResult, ProbeRoots } from "../probes/result.js";

export class Snapshot {
  private readonly memo = new Map<string, unknown>();

  constructor(private readonly roots: ProbeRoots) {}

  private once<T>(key: string, read: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, read());
    return this.memo.get(key) as T;
  }

  processes(): ProbeResult<processes.ProcessInfo[]> {
    return this.once("processes", () => processes.readProcesses(this.roots));
  }

  bootTimeMs(): number | undefined {
    return this.once("boot", () => processes.readBootTime(this.roots));
  }

  /** every TCP socket with its owners; promises filter what they need */
  connections(): ProbeResult<connections.Connection[]> {
    return this.once("connections", () => connections.read(this.roots));
  }

  /** UDP sockets with their owners (bound and connected ones alike) */
  udpSockets(): ProbeResult<connections.Connection[]> {
    return this.once("udpSockets", () => connections.readUdp(this.roots));
  }

  locks(): ProbeResult<locks.FileLock[]> {
    return this.once("locks", () => locks.read(this.roots));
  }

  accounts(): ProbeResult<accounts.Accounts> {
    return this.once("accounts", () => accounts.read(this.roots));
  }

  mounts(): ProbeResult<mountinfo.Mount[]> {
    return this.once("mounts", () => mountinfo.read(this.roots));
  }

  /** uid of a user name, from the accounts (undefined: no such user, or accounts unreadable) */
  /** The uid of a user name, or of a numeric id such as "0" when no user has that name (as chown does). */
  uidOf(name: string): number | undefined {
    const a = this.accounts();
    return (a.ok ? a.value.users.find((u) => u.name === name)?.uid : undefined) ?? numericId(name);
  }

  /** The gid of a group name, or of a numeric id such as "42" when no group has that name. */
  gidOf(name: string): number | undefined {
    const a = this.accounts();
    return (a.ok ? a.value.groups.find((g) => g.name === name)?.gid : undefined) ?? numericId(name);
  }

  userName(uid: number): string {
    const a = this.accounts();
    return (a.ok ? a.value.userByUid.get(uid)?.name : undefined) ?? String(uid);
  }

  groupName(gid: number): string {
    const a = this.accounts();
    return (a.ok ? a.value.groups.find((g) => g.gid === gid)?.name : undefined) ?? String(gid);
  }

  /** forget everything read so far: the host has changed */
  invalidate(): void {
    this.memo.clear();
  }
}

function numericId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 0xfffffffe ? n : undefined;
}
