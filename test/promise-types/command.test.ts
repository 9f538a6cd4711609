import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("command", {
  valid: ['command ["/usr/bin/pg_isready", "-q"] { exit_code = 0 output_matches = "accepting" output_excludes = "error" user = "postgres" max_output = 1MB }'],
  invalid: [
    { promise: 'command "/usr/bin/pg_isready -q" { exit_code = 0 }', code: "E102", message: /a command as a list of strings/ },
    { promise: 'command ["/bin/true"] { exit_code = 256 }', code: "E103" },
    { promise: 'command ["/bin/true"] { repair = set }', code: "E101" },
  ],
});
