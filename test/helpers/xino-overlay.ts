// An overlay mount with xino over a lower and an upper layer on two tmpfs (two file systems, so
// the lower layer's index goes into the top bits: its files are numbered 2^63 + n, where a
// double's step is 2048, and neighbours round to one double). For the tests of exact identities
// (test/probes/file-identity-overlay.test.ts, file-holders-overlay.test.ts). Needs root.
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inodeNumber } from "../../src/probes/file-identity.ts";

export interface XinoOverlay {
  /** the temporary directory holding the layers and the mount point (tests may write beside them) */
  base: string;
  /** where the overlay is mounted */
  merged: string;
  /** why the tests are skipped: not root, the mount refused, or numbers below 2^53; undefined when it is up */
  skipped: string | undefined;
  /** unmounts (lazily, should something still hold it: no mount outlives the tests) and removes the directories */
  cleanUp(): void;
}

/** Mounts the overlay, its lower layer filled first by `fill` (changing it under a mounted overlay is undefined); `probe` names a lower file whose number is checked. */
export function mountXinoOverlay(prefix: string, fill: (lower: string) => void, probe: string): XinoOverlay {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const [lower, upperFs, merged] = ["lower", "upper", "merged"].map((d) => join(base, d)) as [string, string, string];
  const mounted: string[] = [];
  const cleanUp = () => {
    for (const m of mounted.splice(0)) {
      try {
        execFileSync("umount", [m], { stdio: "pipe" });
      } catch {
        execFileSync("umount", ["-l", m], { stdio: "pipe" });
      }
    }
    rmSync(base, { recursive: true, force: true });
  };
  const skip = (why: string): XinoOverlay => {
    cleanUp();
    return { base, merged, skipped: why, cleanUp };
  };
  if (process.getuid?.() !== 0) return skip("not root: mount is not permitted");
  try {
    for (const d of [lower, upperFs, merged]) mkdirSync(d);
    execFileSync("mount", ["-t", "tmpfs", "tmpfs", lower], { stdio: "pipe" });
    mounted.unshift(lower);
    execFileSync("mount", ["-t", "tmpfs", "tmpfs", upperFs], { stdio: "pipe" });
    mounted.unshift(upperFs);
    fill(lower);
    for (const d of ["u", "w"]) mkdirSync(join(upperFs, d));
    execFileSync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${join(upperFs, "u")},workdir=${join(upperFs, "w")},xino=on`, merged], { stdio: "pipe" });
    mounted.unshift(merged);
  } catch (err) {
    return skip(`the overlay cannot be mounted: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`);
  }
  const ino = inodeNumber(lstatSync(join(merged, probe), { bigint: true }));
  if (ino < 2n ** 53n) return skip(`inode numbers stay below 2^53 on this overlay (${ino}): xino is not in use`);
  return { base, merged, skipped: undefined, cleanUp };
}

/** `<name>1` and `<name>2` for each name, holding their own names: pairs of neighbours. */
export function writePairs(dir: string, names: readonly string[]): void {
  for (const name of names) for (const n of [1, 2]) writeFileSync(join(dir, `${name}${n}`), `${name} ${n}\n`);
}
