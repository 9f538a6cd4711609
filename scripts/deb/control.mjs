// The text files of the Debian package that are made, not copied: DEBIAN/control, its Depends,
// and /etc/cron.d/covenant.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Depends, from the shared libraries the carried node and the addons link against: dpkg-shlibdeps
 * names the Debian packages (libc6, libstdc++6, ...) and their minimum versions. Its warnings
 * about symbols found in no library are expected (addons take them from the node executable)
 * and silenced. It reads node's hundred thousand symbols for many seconds, so its answer is kept
 * in `cacheDir`, keyed by the binaries and the host's package database, which are all it reads.
 */
export function shlibsDepends(work, binaries, run, cacheDir) {
  const key = createHash("sha256");
  for (const file of [...binaries, "/var/lib/dpkg/status"]) key.update(existsSync(file) ? readFileSync(file) : "").update("\0");
  const cache = join(cacheDir, ".depends-cache");
  const digest = key.digest("hex");
  if (existsSync(cache)) {
    const [cachedKey, depends] = readFileSync(cache, "utf8").split("\n");
    if (cachedKey === digest && depends) return depends;
  }
  mkdirSync(join(work, "debian"), { recursive: true });
  writeFileSync(join(work, "debian/control"), "Source: covenant\n\nPackage: covenant\nArchitecture: any\n");
  const out = run("dpkg-shlibdeps", ["-O", "--warnings=0", ...binaries.map((b) => `-e${b}`)], { cwd: work });
  const line = out.split("\n").find((l) => l.startsWith("shlibs:Depends="));
  if (!line) throw new Error(`dpkg-shlibdeps printed no shlibs:Depends: ${out}`);
  const depends = line.slice("shlibs:Depends=".length).trim();
  writeFileSync(cache, `${digest}\n${depends}\n`);
  return depends;
}

export function controlFile({ pkg, arch, depends, installedSize, nodeVersion, maintainer }) {
  return [
    "Package: covenant",
    `Version: ${pkg.version}`,
    `Architecture: ${arch}`,
    `Maintainer: ${maintainer}`,
    `Installed-Size: ${installedSize}`,
    `Depends: ${depends}`,
    "Section: admin",
    "Priority: optional",
    `Description: ${pkg.description.replace(/^./, (c) => c.toLowerCase())}`,
    " Covenant checks SOX internal controls, written as promises in a small language,",
    " against the live host, repairs drift where the policy allows it, and keeps a",
    " tamper-evident history of every change of state.",
    " .",
    ` This package carries the Node.js runtime it was built and tested with (${nodeVersion},`,
    " in /usr/lib/covenant/node): Debian's own nodejs is older than Covenant needs.",
    "",
  ].join("\n");
}

/** cron's job lines: five time fields (or an @nickname), the user, then the command. */
const job = /^((?:@\w+|\S+\s+\S+\s+\S+\s+\S+\s+\S+)\s+\S+\s+)covenant (.*)$/;

/**
 * /etc/cron.d/covenant as the package installs it: examples/cron/covenant with every job
 * disabled (a `#` in front) until the administrator has put policies in place, running the
 * package's /usr/bin/covenant, and doing nothing once the package is removed (its conffiles
 * stay until purge).
 */
export function cronFile(example) {
  const header = [
    "# Installed by the covenant package with its jobs disabled: remove the `#` in front of each",
    "# job below once the policies are in /etc/covenant/policies and `covenant check",
    "# /etc/covenant/policies` is clean, or enable the systemd timers instead (not both):",
    "# /usr/share/doc/covenant/docs/install.md. Your edits are kept on upgrade.",
    "#",
  ];
  const lines = example.split("\n").map((line) => {
    const m = line.startsWith("#") ? null : job.exec(line);
    // every command of the job, not only the first (`covenant watch --status ... || covenant run ...`)
    return m ? `#${m[1]}[ -x /usr/bin/covenant ] || exit 0; /usr/bin/covenant ${m[2].replaceAll("|| covenant ", "|| /usr/bin/covenant ")}` : line;
  });
  if (!lines.some((l) => l.startsWith("#") && l.includes("/usr/bin/covenant "))) throw new Error("examples/cron/covenant has no `covenant` job");
  return [...header, ...lines].join("\n");
}
