// The schema of `package`: what a `package` promise may say. Its behaviour is src/evaluator/promise-types/package.ts.
// (`package` is a reserved word in JavaScript: the schema is exported under that name with `export { … as package }`.)
import type { PromiseTypeSpec } from "./schema.js";

/** A version constraint: an operator (`=` when none is written) and a version. */
export const VERSION_CONSTRAINT = /^\s*(?:(<<|<=|<|>>|>=|>|=|!=)\s*)?([0-9]+:)?[A-Za-z0-9][A-Za-z0-9.+~^_:-]*\s*$/;

const packageType: PromiseTypeSpec = {
  name: "package",
  summary: "Software packages: installed or absent, at a version, for an architecture.",
  description:
    "Promises that a package is installed (its files in place and configured) or absent, read from the package database itself: dpkg's `/var/lib/dpkg/status` (with its journal of pending updates), read directly, on Debian and Ubuntu; `rpm -qa` on the RHEL family. A dpkg package that is only unpacked, half-installed, half-configured, or removed with its configuration files left (`config-files`) is not installed. With `version`, every installed architecture of the package must satisfy it (an old `i386` copy of a library is as much a finding as the `amd64` one). Versions are compared with the ordering of that database (dpkg's for Debian versions, rpm's for RPM ones: `~` sorts before everything), never as text. A promiser with `*` or `?` is a pattern over package names: `installed` then holds when at least one matching package is as promised, `absent` when none is. The rpm path (`rpm -qa`, `dnf`) has been tested only with stand-ins for rpm and dnf: there is no rpm on the machines Covenant is tested on.",
  promiser: {
    type: { kind: "string", pattern: /^[A-Za-z0-9_+*?][A-Za-z0-9_+.*?-]*$/, patternHint: "a package name such as `auditd`, or a pattern such as `telnet*`" },
    description: "Package name as the package manager spells it (`auditd`, `openssh-server`); `*` and `?` make it a pattern.",
  },
  attributes: [
    { name: "state", type: { kind: "enum", values: ["installed", "absent"] }, description: "Whether the package must be installed or absent. With `version`, `absent` means no installed version satisfies it (`state = absent` with `version = \"< 3.0.7\"`: no vulnerable version is installed).", default: "installed" },
    {
      name: "version",
      type: { kind: "oneOrMany", of: { kind: "string", pattern: VERSION_CONSTRAINT, patternHint: "a version constraint such as `>= 1.2`, `= 1:2.3-4` or `< 3`" } },
      // constraints of two promises on one package hold together (`>= 3.0.7` here, `< 4` there): not a contradiction
      comparable: false,
      description:
        "Version constraints, all of which the installed version must satisfy: `=`, `!=`, `<`, `<=`, `>`, `>=` (and Debian's `<<`, `>>`, the same as `<`, `>`), then a version; a bare version means `=`. `<` is strictly less, not Debian's deprecated `<` (which meant `<=`). Compared as the package manager compares versions: on dpkg `1.2` is less than `1.2-1` and `1:0.9` greater than `2.0`; on rpm a constraint without a release (`>= 1.2`) holds for every release of it.",
    },
    { name: "architecture", type: { kind: "string", pattern: /^[a-z0-9_-]+$/, patternHint: "an architecture such as `amd64`, `arm64`, `all` or `x86_64`" }, description: "Only the package built for this architecture counts (multi-arch hosts keep one record per architecture).", comparable: false },
    {
      name: "repair",
      type: { kind: "enum", values: ["install", "remove", "purge"] },
      description:
        "`install` installs (or upgrades) a package that is missing or whose version does not satisfy `version`; `remove` removes installed packages that should be absent; `purge` also removes their configuration files (dpkg).",
    },
  ],
  repairs:
    "Through the package manager, argv only, with the changes of a dry run only planned: `apt-get install -y --no-install-recommends -- NAME[:ARCH][=VERSION]` and `apt-get remove|purge -y -- NAME` with `DEBIAN_FRONTEND=noninteractive` (local configuration files are kept: `--force-confold`), or `dnf install|remove -y -- NAME`. A `=` constraint installs that exact version (apt refuses it when that would be a downgrade); otherwise, when the package is missing or older than a `>=`/`>` constraint allows, the candidate is installed and judged again. Never downgrades: a version only a downgrade (or another version) would satisfy is `drift`, with no change planned. A removal is first simulated (`apt-get -s`): when apt would also remove packages the promise does not name (those that depend on it), nothing is removed and the repair fails, naming them; apt itself refuses to remove an essential package, or to change one held with `apt-mark hold`. In a sandbox every package change is held. A package manager is never interrupted: once started, it runs to the end (for at most an hour) even past the promise's `timeout`, which therefore should be generous (`timeout = 10m`): the promise is then `error`, its change recorded as in progress when the timeout expired, and the next run judges what the package manager left.",
  example: `package "auditd" {
  state   = installed
  version = ">= 1:3.0"
  repair  = install
  timeout = 10m
}`,
};

export { packageType as package };
