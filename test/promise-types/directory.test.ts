import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("directory", {
  valid: [
    'directory "/srv/ledger" { mode = 0750 owner = "ledger" group = "finance" }',
    'directory "/srv/ledger" { recurse = true max_depth = 4 max_mode = 0770 }',
    'directory "/srv/inbox" { exists = true repair = create watch = realtime }',
  ],
  invalid: [
    { promise: 'directory "/srv" { max_depth = 0 }', code: "E103", message: "`max_depth` must be a whole number from 1 to 64, got `0`" },
    { promise: 'directory "/srv" { repair = content }', code: "E103", message: /did you mean|expected one of `perms`, `create`/ },
  ],
});
