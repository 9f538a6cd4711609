// The schema of `account`: what an `account` promise may say. Its behaviour is src/evaluator/promise-types/account.ts.
import type { PromiseTypeSpec } from "./schema.js";

const boolean = { kind: "boolean" } as const;
const days = { kind: "integer", min: 0, max: 99999 } as const;

export const account: PromiseTypeSpec = {
  name: "account",
  summary: "Local user accounts: uid 0, empty and locked passwords, password aging, expiry, login shells, home directories, duplicates; from /etc/passwd and /etc/shadow.",
  description:
    "Promises the state of one local account, or of every account the promiser `*` and `select` pick, judged as the SCAP Security Guide and the CIS Benchmarks judge them: the password field of /etc/shadow (or of /etc/passwd when it holds one) is empty, locked (`!` or `*` first, as `passwd -S` shows `L`) or a hash; aging is each account's own fields of /etc/shadow (not login.defs, which only seeds new accounts); system accounts are those outside login.defs' `UID_MIN`..`UID_MAX`. A password hash is never read past the parser: reports, the store and messages carry only its classification and its scheme (`$y$`, `$6$`). /etc/shadow is read only when an attribute needs it; reading it needs root.",
  promiser: {
    type: { kind: "string", pattern: /^(\*|[a-z_][a-z0-9_.-]*\$?)$/i, patternHint: "a user name such as `root`, or `*` for every account" },
    description: "A user name, or `*`: every account in /etc/passwd that `select` picks, less `except`.",
  },
  attributes: [
    {
      name: "select",
      type: { kind: "oneOrMany", of: { kind: "enum", values: ["human", "system", "password_set"] } },
      selects: true,
      description:
        "With `*`, only accounts that are all of these: `human` (uid from login.defs `UID_MIN` to `UID_MAX`, 1000 to 60000 when it does not say), `system` (any other uid, root and `nobody` included), `password_set` (a password hash that is not locked, the accounts CIS's aging rules look at).",
    },
    { name: "except", type: { kind: "list", of: { kind: "string", nonEmpty: true } }, selects: true, description: "With `*`, accounts left out by name (`root`, `sync`, `halt`, `shutdown` for a rule on system accounts' shells)." },
    { name: "exists", type: boolean, description: "For a named account: whether it must exist. The other attributes hold vacuously of an account that does not.", default: "true" },
    { name: "uid0_only", type: { kind: "list", of: { kind: "string", nonEmpty: true } }, description: "The only accounts that may have uid 0: any other selected account with uid 0 is a deficiency." },
    { name: "unique", type: boolean, description: "`true`: no other line of /etc/passwd has the account's name or uid." },
    { name: "shadowed", type: boolean, description: "`true`: the password field of /etc/passwd is `x`, the password kept in /etc/shadow, which only root can read (not a hash in world-readable /etc/passwd)." },
    { name: "empty_password", type: boolean, description: "`false`: the password field is not empty (in /etc/shadow, or in /etc/passwd where it holds the password), so no one logs in without a password." },
    { name: "locked", type: boolean, description: "Whether the password must be locked (`!` or `*` first) or must not be." },
    { name: "expired", type: boolean, description: "Whether the account must have expired (its expiry date, field 8 of /etc/shadow, reached) or must not have." },
    { name: "max_days", type: days, description: "Password changed at least this often: field 5 of /etc/shadow set, and at most this (`PASS_MAX_DAYS`)." },
    { name: "min_days", type: days, description: "Days between password changes: field 4 at least this (`PASS_MIN_DAYS`); empty counts as 0." },
    { name: "warn_days", type: days, description: "Days of warning before a password expires: field 6 set, and at least this (`PASS_WARN_AGE`)." },
    { name: "inactive_days", type: days, description: "Days after a password expires before the account is disabled: field 7 set, and at most this (`INACTIVE`)." },
    { name: "shell", type: { kind: "oneOrMany", of: { kind: "path" } }, description: "The login shells the account may have (such as `/usr/sbin/nologin` for system accounts); `repair = shell` sets the first." },
    { name: "home_exists", type: boolean, description: "`true`: the home directory exists and is a directory (not a link)." },
    { name: "home_owned", type: boolean, description: "`true`: the home directory, where it exists, is owned by the account's uid." },
    { name: "home_max_mode", type: { kind: "mode" }, description: "Permission bits the home directory may have at most, where it exists (`0750`)." },
    {
      name: "repair",
      type: { kind: "oneOrMany", of: { kind: "enum", values: ["lock", "expire", "aging", "shell", "home"] } },
      description:
        "`lock`: `usermod -L` for `locked = true` and an empty password; `expire`: `chage -E 1` for `expired = true`; `aging`: `chage -m/-M/-W/-I` for the aging fields; `shell`: `usermod -s`; `home`: chmod within `home_max_mode` and chown to the account.",
    },
  ],
  constraints: [
    {
      kind: "atLeastOne",
      attributes: ["exists", "uid0_only", "unique", "shadowed", "empty_password", "locked", "expired", "max_days", "min_days", "warn_days", "inactive_days", "shell", "home_exists", "home_owned", "home_max_mode"],
    },
    { kind: "lessOrEqual", lower: "min_days", upper: "max_days" },
  ],
  repairs:
    "Through shadow-utils, argv only, the user after `--`: lock a password (`repair = lock`, `usermod -L`), expire an account (`repair = expire`, `chage -E 1`), set aging (`repair = aging`, `chage -m N -M N -W N -I N`), set the shell (`repair = shell`, `usermod -s`); fix a home directory's mode and owner (`repair = home`). Never unlocks, never sets a password, never removes an account. When the accounts read are not the host's /etc (a container's `/host/etc`), the tools get `-R` with the directory above it; in a sandbox, account changes are held.",
  example: `account "*" {
  select    = [human, password_set]
  max_days  = 90
  min_days  = 1
  warn_days = 7
  repair    = aging
}`,
};
