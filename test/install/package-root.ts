// A temporary root that dpkg installs packages into: its own admin directory (the host's dpkg
// database is never read or written), maintainer scripts run without chroot with DPKG_ROOT set
// to the root (dpkg --root --force-script-chrootless: dpkg itself unpacks, records conffiles
// and calls each script with the arguments of the real operation, which `dpkg-deb -x` and
// running the scripts by hand would only imitate). Not root: dpkg runs under fakeroot, which
// keeps the owners dpkg gave in its own record.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const asRoot = process.getuid?.() === 0;
const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export class PackageRoot {
  readonly dir: string;
  private readonly fakerootState: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "covenant-root-"));
    for (const sub of ["info", "updates", "triggers"]) mkdirSync(join(this.dir, "var/lib/dpkg", sub), { recursive: true });
    writeFileSync(join(this.dir, "var/lib/dpkg/status"), "");
    this.fakerootState = join(this.dir, "..", `${this.dir.split("/").pop()}.fakeroot`);
    writeFileSync(this.fakerootState, "");
  }

  path(p: string): string {
    return join(this.dir, p);
  }

  /** Runs as root would: directly when we are root, under fakeroot (sharing one record of owners) otherwise. */
  private privileged(cmd: string, args: string[]): SpawnSyncReturns<string> {
    const env = { ...process.env, PATH: `${process.env["PATH"]}:${systemPath}` };
    const [file, argv] = asRoot ? [cmd, args] : ["fakeroot", ["-i", this.fakerootState, "-s", this.fakerootState, "--", cmd, ...args]];
    // stdin at its end: a question from dpkg (a conffile prompt) fails the step instead of hanging it
    return spawnSync(file, argv, { encoding: "utf8", env, input: "", maxBuffer: 1 << 24 });
  }

  /** dpkg on this root; `--force-depends`: the root's own database records no libc6 (the test checks Depends against the host). */
  dpkg(...args: string[]): SpawnSyncReturns<string> {
    const notRoot = asRoot ? [] : ["--force-not-root"];
    return this.privileged("dpkg", [`--root=${this.dir}`, "--log=/dev/null", "--force-script-chrootless", "--force-depends", ...notRoot, ...args]);
  }

  /** `uid:gid mode` (mode in octal) of each path in the root, as dpkg set them. */
  ownersAndModes(paths: string[]): Record<string, string> {
    const lines = asRoot
      ? paths.map((p) => {
          const st = lstatSync(this.path(p));
          return `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
        })
      : this.privileged("stat", ["-c", "%u:%g %a", ...paths.map((p) => this.path(p))]).stdout.trim().split("\n");
    return Object.fromEntries(paths.map((p, i) => {
      const [owner, mode] = (lines[i] ?? "").split(" ");
      return [p, `${owner} ${(mode ?? "").padStart(4, "0")}`];
    }));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.fakerootState, { force: true });
  }
}
