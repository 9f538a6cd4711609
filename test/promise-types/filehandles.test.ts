import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("filehandles", {
  valid: ["filehandles { max_used_pct = 80 }", "filehandles { max_used = 500000 anomaly = 2.5 sigma }"],
  invalid: [
    { promise: "filehandles { }", code: "E104", message: /promises nothing/ },
    { promise: "filehandles { anomaly = 0 sigma }", code: "E103", message: "`anomaly` must be more than 0 sigma" },
    { promise: 'filehandles "/proc" { max_used = 1 }', code: "E117" },
  ],
});
