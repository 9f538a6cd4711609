import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("process", {
  valid: [
    'process "telnetd" { min = 0 max = 0 }',
    'process "backup" { cmdline = "--full" max_age = 6h }',
    'process "ledger-postd" { start = ["/usr/local/bin/ledger-postd", "--daemon"] repair = [start, kill] max = 1 }',
  ],
  invalid: [
    { promise: 'process "x" { min = 2 max = 1 }', code: "E119" },
    { promise: 'process "x" { repair = start }', code: "E104", message: "`repair = start` needs `start`" },
    { promise: 'process "x" { start = ["ledger-postd"] }', code: "E103", message: /must be an absolute path/ },
    { promise: 'process "x" { start = [] }', code: "E103", message: /needs at least the program/ },
    { promise: 'process "x" { cmdline = "[" }', code: "E103", message: /not a valid regular expression/ },
  ],
});
