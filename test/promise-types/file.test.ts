import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("file", {
  valid: [
    'file "/srv/ledger/gl.dat" { mode = "0640" owner = "ledger" group = "finance" }',
    'file "/srv/ledger/*.dat" { integrity = sha512 watch = realtime locked_by = ["ledger-postd"] nodiff = true }',
    'file "/etc/shadow" { max_mode = 0640 max_size = 5MB }',
    'file "/var/backups/latest.dump" { max_age = 26h }',
    'file "/etc/ledger.conf" { baseline = "/var/lib/covenant/approved/ledger.conf" repair = [perms, content] }',
    'file "/tmp/forbidden.flag" { exists = false }',
  ],
  invalid: [
    { promise: 'file "relative/path" { mode = 0640 }', code: "E103", message: 'the promiser of `file` must be an absolute path, got `relative/path`' },
    { promise: 'file "/srv/[ab.dat" { mode = 0640 }', code: "E103", message: /unclosed `\[`/ },
    { promise: 'file "/a" { repair = content }', code: "E104", message: "`repair = content` needs `baseline`" },
    { promise: 'file "/a" { mode = 0640 max_mode = 0644 }', code: "E119" },
    { promise: 'file "/a" { baseline = "/approved/*.conf" }', code: "E103", message: /globs are not allowed here/ },
    { promise: 'file "/a" { mode = 64 }', code: "E103", message: /write three or four octal digits/ },
  ],
});
