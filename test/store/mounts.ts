// Real file systems for the store's tests (run as root): a small tmpfs to fill, mounts turned
// read-only, as an auditor's copy would be, and an ext4 file system on a loop device that the
// kernel turns read-only under a running program, as a failing disk does (errors=remount-ro and
// ext4's trigger_fs_error). Every mount and loop device made here is undone by unmountAll (call
// it in afterAll). The loop device needs losetup (util-linux) and mkfs.ext4 (e2fsprogs: `apt-get
// install e2fsprogs`); without them, or without root, the tests that need it are skipped and say why.
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

const mounted: string[] = [];
const loops: string[] = [];

/** Mounts a tmpfs of `size` (such as "2m") at `dir`; false (with the reason) when mounting is impossible here. */
export function mountTmpfs(dir: string, size: string): { ok: true } | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: "not running as root" };
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir], { encoding: "utf8" });
  if (r.status !== 0) return { ok: false, reason: `mount -t tmpfs failed: ${(r.stderr || r.error?.message || "").trim()}` };
  mounted.push(dir);
  return { ok: true };
}

export function remount(dir: string, mode: "ro" | "rw"): void {
  const r = spawnSync("mount", ["-o", `remount,${mode}`, dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mount -o remount,${mode} ${dir} failed: ${r.stderr}`);
}

export function unmountAll(): void {
  for (const dir of mounted.splice(0).reverse()) spawnSync("umount", [dir]);
  for (const dev of loops.splice(0)) spawnSync("losetup", ["-d", dev]);
}

function which(program: string): boolean {
  return spawnSync("sh", ["-c", 'command -v "$1"', "sh", program]).status === 0;
}

export interface FailingDisk {
  /** makes the kernel turn the file system read-only at once, as on an I/O error */
  fail(): void;
  /** unmounts and mounts it again, writable (the journal is replayed) */
  recover(): void;
}

/**
 * An ext4 file system of `sizeMb` in an image file beside `dir`, on a loop device, mounted at
 * `dir` with errors=remount-ro; or why it cannot be made here.
 */
export function mountFailingDisk(dir: string, sizeMb: number): ({ ok: true } & FailingDisk) | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: "not running as root" };
  for (const program of ["losetup", "mkfs.ext4"]) if (!which(program)) return { ok: false, reason: `${program} is not installed (apt-get install ${program === "losetup" ? "util-linux" : "e2fsprogs"})` };
  const image = `${dir}.img`;
  writeFileSync(image, "");
  spawnSync("truncate", ["-s", `${sizeMb}M`, image]);
  const mkfs = spawnSync("mkfs.ext4", ["-q", "-F", image], { encoding: "utf8" });
  if (mkfs.status !== 0) return { ok: false, reason: `mkfs.ext4 failed: ${mkfs.stderr.trim()}` };
  const loop = spawnSync("losetup", ["-f", "--show", image], { encoding: "utf8" });
  if (loop.status !== 0) return { ok: false, reason: `losetup failed (no loop devices here?): ${loop.stderr.trim()}` };
  const dev = loop.stdout.trim();
  loops.push(dev);
  const mount = () => {
    const r = spawnSync("mount", ["-o", "errors=remount-ro", dev, dir], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`mount ${dev} failed: ${r.stderr}`);
  };
  try {
    mount();
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  mounted.push(dir);
  const trigger = join("/sys/fs/ext4", basename(dev), "trigger_fs_error");
  if (!existsSync(trigger)) return { ok: false, reason: `${trigger} does not exist (this kernel's ext4 cannot be made to fail on demand)` };
  return {
    ok: true,
    fail: () => writeFileSync(trigger, "1"),
    recover: () => {
      spawnSync("umount", [dir]);
      mount();
    },
  };
}

/** Whether tmpfs mounts can be made here (root with CAP_SYS_ADMIN), tried once with a real mount. */
export function canMount(probeDir: string): { ok: true } | { ok: false; reason: string } {
  const r = mountTmpfs(probeDir, "64k");
  if (r.ok) spawnSync("umount", [mounted.pop()!]);
  return r;
}
