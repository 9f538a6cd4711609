// Real file systems for the store's tests (run as root): a small tmpfs to fill, and mounts turned
// read-only, as an auditor's copy or a failing disk would be. Every mount made here is undone by
// unmountAll (call it in afterAll).
import { spawnSync } from "node:child_process";

const mounted: string[] = [];

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
}

/** Whether tmpfs mounts can be made here (root with CAP_SYS_ADMIN), tried once with a real mount. */
export function canMount(probeDir: string): { ok: true } | { ok: false; reason: string } {
  const r = mountTmpfs(probeDir, "64k");
  if (r.ok) spawnSync("umount", [mounted.pop()!]);
  return r;
}
