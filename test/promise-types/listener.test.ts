import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("listener", {
  valid: ["listener 23 { present = false }", 'listener [80, 443] { addresses = "0.0.0.0" process = "nginx" user = "www-data" }'],
  invalid: [
    { promise: "listener 5432 { addresses = [10.0.0.1/33] }", code: "E103", message: /prefix length must be 0 to 32/ },
    { promise: 'listener "http" { present = true }', code: "E102" },
  ],
});
