import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("locks", {
  valid: ['locks "/srv/ledger/journal.dat" { min = 1 max = 4 kind = [posix, flock] access = write }', 'locks "/srv/*.dat" { holders = ["ledger-postd"] kind = ofd }'],
  invalid: [
    { promise: 'locks "/srv/a" { access = read }', code: "E104", message: /promises nothing/ },
    { promise: 'locks "/srv/a" { min = 3 max = 2 }', code: "E119" },
  ],
});
