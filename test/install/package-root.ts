// A temporary root that dpkg installs packages into: its own admin directory (the host's dpkg
// database is never read or written), maintainer scripts run without chroot with DPKG_ROOT set
// to the root (dpkg --root --force-script-chrootless: dpkg itself unpacks, records conffiles
// and calls each script with the arguments of the real operation, which `dpkg-deb -x` and
// running the scripts by hand would only imitate). Not root: dpkg runs under fakeroot, which
// keeps the owners dpkg gave in its own record.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { cpSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const asRoot = process.getuid?.() === 0;
const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export class PackageRoot {
  readonly dir: string;
  private readonly fakerootState: string;

  /**
   * `chroot`: dpkg runs the maintainer scripts chrooted into the root, as on a host, with
   * DPKG_ROOT empty (root only; `furnish` the root first): the scripts then act as they do on `/`.
   */
  constructor(private readonly chroot = false) {
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
    const chrootless = this.chroot ? [] : ["--force-script-chrootless"];
    return this.privileged("dpkg", [`--root=${this.dir}`, "--log=/dev/null", ...chrootless, "--force-depends", ...notRoot, ...args]);
  }

  /**
   * What the maintainer scripts need to run chrooted in the root: /bin/sh, the `programs` they
   * call (copied from this host with the shared libraries `ldd` names) and /dev/null. Root only.
   */
  furnish(programs: string[]): void {
    const copy = (from: string, to: string) => {
      mkdirSync(dirname(this.path(to)), { recursive: true });
      cpSync(from, this.path(to), { dereference: true });
    };
    for (const program of ["/bin/sh", ...programs]) {
      copy(program, program);
      const ldd = spawnSync("ldd", [program], { encoding: "utf8" }).stdout;
      for (const m of ldd.matchAll(/(?:=> )?(\/\S+) \(0x/g)) copy(m[1]!, m[1]!);
    }
    mkdirSync(this.path("dev"), { recursive: true });
    const r = spawnSync("mknod", ["-m", "0666", this.path("dev/null"), "c", "1", "3"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`mknod /dev/null in the root: ${r.stderr}`);
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
