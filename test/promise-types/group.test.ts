import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("group", {
  valid: ['group "finance" { required = ["ledger"] forbidden = ["guest"] max_members = 10 }', 'group "wheel" { exists = false }'],
  invalid: [{ promise: 'group "bad group" { max_members = 1 }', code: "E103", message: /a group name/ }],
});
