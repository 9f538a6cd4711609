// The schema of `config`: what a `config` promise may say. Its behaviour is src/evaluator/promise-types/config.ts;
// the formats are parsed by src/config-formats/.
import type { PromiseTypeSpec } from "./schema.js";

export const config: PromiseTypeSpec = {
  name: "config",
  summary: "Settings of configuration files, judged with the file format's own rules.",
  description:
    "Promises the value of one setting of a configuration file, read as the program that uses it reads the file, never with a regular expression over its text. `sshd`: sshd_config(5): the keyword in any case, the first value read wins, `Include` read in its place (globs; relative paths below /etc/ssh; at most 16 deep), and a setting inside a `Match` block judged as well, since it applies to some connections. `login_defs`: login.defs(5): the last uncommented line of a name wins, quotes around the value dropped. `sysctl`: a sysctl.d(5) file: `key = value`, `#` and `;` comments, `/` or `.` between the key's parts, the last line of a key wins (which file wins at boot is the `sysctl` promise type's `persistent`). `key_value`: `key <separator> value` lines with the `separator` and `comment` given, the `wins` setting used. `pam`: pam.d(5) lines; `key = \"password pam_unix.so\"` is that module's control in that stack, `key = \"password pam_unix.so remember\"` its argument (`remember=5` is `\"5\"`, a bare `nullok` is `\"true\"`); every line of the stack is judged; `@include`, `include` and `substack` read in place (relative to /etc/pam.d; `include` and `substack` only the lines of their type). `ini`: `[section]` headers, `key = value`, `#` and `;` comment lines, the last setting of a key in its `section` wins. `sudoers`: sudoers(5) `Defaults` parameters (`use_pty` is `\"true\"`, `!use_pty` `\"false\"`, `logfile=...` its value without quotes), the last one wins, `Defaults:user` and the like judged as well since they apply to some, and `@include`/`#include` and `@includedir`/`#includedir` read in place (a directory's files without `.` or a trailing `~` in their names, as sudo reads them). `apt`: apt.conf(5) as apt reads it: a key is its full `::` path in any case, whether written flat (`APT::Get::AllowUnauthenticated \"1\";`) or in scopes (`APT { Get { AllowUnauthenticated \"1\"; }; };`); the value as written without its quotes (`on`, `yes` and `1` are different values: compare them with `matches`); `//`, `#` and `/* */` comments; a list item is the key with a trailing `::` (`Foo { \"a\"; };` sets `Foo::`); `#clear` forgets what was set before it in the file; `#include` read in place (a directory ending in `/` as apt reads it); the last setting of a key wins; a syntax error stops the reading there, as it stops apt. A file that does not exist sets nothing; a file larger than 4 MiB is not read (the promise is `error`, naming its size; an included one is skipped with a note). With a glob promiser, each file it matches is judged on its own and `files` says how many must hold. Values are compared as text, exactly; `at_most`, `at_least` and `umask_at_least` read the value as a number (decimal, or octal with a leading 0 for `umask_at_least`) and a value that is not one does not hold. Text values are compared exactly as the file has them: sshd itself reads `No` as `no` and `without-password` as `prohibit-password`, so a policy that allows those writes them in `one_of`. Each format, and what of it is read, in detail: [config-files](../probes/config-files.md).",
  promiser: {
    type: { kind: "path", glob: true },
    description: "The configuration file, or a glob of files such as `\"/etc/profile.d/*.sh\"` (each judged on its own; see `files`).",
  },
  attributes: [
    { name: "format", type: { kind: "enum", values: ["sshd", "login_defs", "key_value", "sysctl", "sudoers", "ini", "pam", "apt"] }, description: "How the file is read: which line sets a key, which of several settings wins.", required: true },
    { name: "key", type: { kind: "string", nonEmpty: true }, description: "The setting: an sshd keyword (any case), a login.defs name, a sysctl key (dotted or with `/`), a key_value key, an apt key's full `::` path (any case).", required: true, selects: true },
    { name: "equals", type: { kind: "union", of: [{ kind: "integer" }, { kind: "string" }] }, description: "The value the setting must have, exactly (after the format's own reading: quotes and folded blanks)." },
    { name: "one_of", type: { kind: "list", of: { kind: "string" }, nonEmpty: true }, description: "Values of which the setting must have one. `repair = set` writes the first." },
    { name: "at_most", type: { kind: "integer" }, description: "The value, a whole number, must be at most this (`PASS_MAX_DAYS` at most 90)." },
    { name: "at_least", type: { kind: "integer" }, description: "The value, a whole number, must be at least this (`PASS_MIN_LEN` at least 14)." },
    { name: "matches", type: { kind: "regex", linear: true }, description: "The value must match this pattern somewhere (anchor it with `^` and `$` for the whole value). It runs on RE2's linear-time engine, since the file's text may be an attacker's." },
    {
      name: "umask_at_least",
      type: { kind: "mode" },
      description: "The value, an octal umask, must be at least as strict as this one: every bit set here is set in it (`UMASK 077` holds for `umask_at_least = 027`; `022` does not). `repair = set` adds the missing bits to the value found (or writes this one).",
    },
    { name: "absent", type: { kind: "boolean" }, description: "`true`: no line may set the key (inside a `Match` block or not). `false`: some line must." },
    {
      name: "default",
      type: { kind: "string" },
      description: "The value the program uses when no line sets the key (sshd's compiled-in default, as `sshd -T` shows it): judged in place of \"not set\". Without it, a setting that is not there holds for no comparison.",
    },
    {
      name: "secret",
      type: { kind: "boolean" },
      description: "The value is a secret (a password, a key): it is judged as any other, but never shown; differences, reports and the store say `(withheld: secret)` where they would give it.",
      default: "false",
    },
    {
      name: "files",
      type: { kind: "enum", values: ["every", "any", "none"] },
      description: "With a glob: `every` file it matches must hold (and at least one must match, unless `absent = true`); `any`: at least one; `none`: no file may hold (such as no profile.d file sets `umask 000`: `files = none` with `equals = \"000\"`).",
      default: "every",
    },
    { name: "section", type: { kind: "string" }, description: "`ini`: the section the key is in (`\"\"`, the default, for keys before any section header).", selects: true },
    { name: "separator", type: { kind: "string", nonEmpty: true }, description: "`key_value`: what separates key and value; `\" \"` stands for any run of blanks.", default: '"="' },
    { name: "comment", type: { kind: "string", nonEmpty: true }, description: "`key_value`: what starts a comment line.", default: '"#"' },
    { name: "wins", type: { kind: "enum", values: ["first", "last"] }, description: "`key_value`: which of several settings of one key the program uses.", default: "last" },
    {
      name: "repair",
      type: { kind: "enum", values: ["set", "remove"] },
      description:
        "`set`: change the value of the setting that applies (and of any `Match` block's that does not hold) in place, or add a line where none sets the key (sshd: before the first `Match`; ini: after the last line of its section, or in a new section at the end; pam: an argument at the end of every line of its module, never a module line; apt: a setting inside a scope `{ }`, or sharing its line with another statement, is not edited; otherwise at the end of the file), with the value of `equals`, else the first of `one_of`, else `at_most`, else `at_least`, else what `umask_at_least` asks. `remove` (for `absent = true`): take out every line that sets the key. Only for `files = every`.",
    },
  ],
  constraints: [
    { kind: "atLeastOne", attributes: ["equals", "one_of", "at_most", "at_least", "matches", "umask_at_least", "absent"] },
    { kind: "exclusive", attributes: ["equals", "one_of"] },
  ],
  repairs:
    "An edit of the file itself that changes only the lines that set the key (`repair = set` or `remove`): every other line, comment and blank stays byte for byte, and the file keeps its mode and owner. The edit is written to a new file in the same directory and renamed over the old one, through descriptors that follow no link, and only if the file still holds exactly the bytes judged (its sha256) and is the same file (device and inode): a file changed since it was observed, a symbolic link, a file with other hard links, or one that is not UTF-8 is not edited.",
  example: `config "/etc/ssh/sshd_config" {
  format = sshd
  key    = "PermitRootLogin"
  equals = "no"
  repair = set
}`,
};
