// Files of Covenant's own: drop-ins it writes to make a setting hold at boot
// (/etc/sysctl.d/99-covenant-<key>.conf, /etc/modprobe.d/00-covenant-<module>.conf). What is
// there now is observed without following links, and a repair replaces exactly that object
// (or creates the file where none was) through the change gate.
import { lstatSync } from "node:fs";
import { dirname } from "node:path";
import { identityOfStats } from "../probes/file-identity.js";
import { readText } from "../probes/result.js";
import type { Change } from "./change-gate.js";
import type { Identity } from "./file-changes.js";

export interface OwnFile {
  /** as on the host */
  path: string;
  /** where it is read and written (below a sandbox's root) */
  hostPath: string;
  /** the object there when observed; absent when there was none */
  identity?: Identity;
  /** its content, when it is a regular file that could be read */
  content?: string;
  /** whether its directory exists */
  dirExists: boolean;
}

export function observeOwnFile(path: string, hostPath: (p: string) => string): OwnFile {
  const host = hostPath(path);
  const own: OwnFile = { path, hostPath: host, dirExists: exists(dirname(host)) };
  try {
    const st = lstatSync(host, { bigint: true });
    own.identity = identityOfStats(st);
    if (st.isFile()) {
      const r = readText(host, "utf8");
      if (r.ok) own.content = r.text;
    }
  } catch {
    // none yet
  }
  return own;
}

/** The changes that make the file hold `content`: none when it already does. */
export function writeOwnFile(own: OwnFile, content: string): Change[] {
  if (own.content === content) return [];
  const changes: Change[] = [];
  if (!own.dirExists) changes.push({ op: "mkdir", path: dirname(own.hostPath), mode: 0o755 });
  changes.push({ op: "write", path: own.hostPath, content, mode: 0o644, expect: own.identity });
  return changes;
}

function exists(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}
