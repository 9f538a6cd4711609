// Covenant's own inotify reader (native/inotify.c, built by `npm install`), for `covenant
// watch`: one watch per directory, and the kernel's queue overflow (IN_Q_OVERFLOW) seen, which
// libuv (and so fs.watch and chokidar) drops. Without it the watcher says that it cannot watch
// in real time, as a deficiency, and evaluates its realtime promises on its rescan timer.
import { requireAddon } from "./addon.js";

/** An open inotify instance, as the addon hands it out (opaque). */
export type InotifyHandle = { readonly __brand: "inotify" };

export interface InotifyAddon {
  /** a new instance (IN_NONBLOCK | IN_CLOEXEC), polled on the event loop: each read's bytes go to `onData` */
  open(onData: (bytes: Buffer) => void): InotifyHandle;
  /** the watch descriptor; throws an Error with `code` (ENOSPC, EMFILE, ENOENT, ENOTDIR, EACCES...) */
  addWatch(handle: InotifyHandle, path: string, mask: number): number;
  /** false when the watch was already gone (its IN_IGNORED is on its way) */
  rmWatch(handle: InotifyHandle, wd: number): boolean;
  /** stops (true) or resumes (false) reading: the kernel queues meanwhile (tests make an overflow with it) */
  pause(handle: InotifyHandle, paused: boolean): void;
  /** stops reading and closes the descriptor, every watch with it; twice is once */
  close(handle: InotifyHandle): void;
  IN_MODIFY: number;
  IN_ATTRIB: number;
  IN_CLOSE_WRITE: number;
  IN_MOVED_FROM: number;
  IN_MOVED_TO: number;
  IN_CREATE: number;
  IN_DELETE: number;
  IN_DELETE_SELF: number;
  IN_MOVE_SELF: number;
  IN_Q_OVERFLOW: number;
  IN_IGNORED: number;
  IN_ISDIR: number;
  IN_ONLYDIR: number;
  IN_DONT_FOLLOW: number;
  IN_EXCL_UNLINK: number;
}

let addon: InotifyAddon | null | undefined;
let whyUnavailable = "";

/** The addon, or null (with the reason in inotifyUnavailableReason()); looked for beside the bundle and beside the sources. */
export function inotifyAddon(): InotifyAddon | null {
  if (addon !== undefined) return addon;
  const found = requireAddon<InotifyAddon>("inotify.node", import.meta.url);
  if ("addon" in found) return (addon = found.addon);
  whyUnavailable = `the native inotify reader is not built (${found.failures}); reinstall with a C compiler available`;
  return (addon = null);
}

export function inotifyUnavailableReason(): string {
  inotifyAddon();
  return whyUnavailable;
}
