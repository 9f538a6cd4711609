import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("load", {
  valid: ["load { max_1m = 16 max_15m = 4.5 per_cpu = true }", "load { min_available_memory = 512MiB anomaly = 3 sigma }", "load { min_available_memory = 10% }"],
  invalid: [
    { promise: "load { max_1m = -1 }", code: "E103" },
    { promise: "load { per_cpu = true }", code: "E104", message: /promises nothing/ },
  ],
});
