import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("mount", {
  valid: ['mount "/srv/ledger" { fstype = "ext4" source = "/dev/vdb1" forbidden_options = ["exec"] present = true }'],
  invalid: [{ promise: 'mount "/tmp/*" { options = ["nodev"] }', code: "E103", message: /globs are not allowed here/ }],
});
