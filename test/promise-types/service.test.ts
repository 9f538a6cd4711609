import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("service", {
  valid: ['service "cron.service" { state = running enabled = true }', 'service "telnet" { state = stopped repair = stop }'],
  invalid: [
    { promise: 'service "bad name" { state = running }', code: "E103", message: /a unit name/ },
    { promise: 'service "pg" { state = runing }', code: "E103", message: /`runing` is not a valid value/ },
  ],
});
