// Library entry: what other programs (editors, benchmarks, the future evaluator host) use.
export { parseSource } from "./parser/parse.js";
export { checkFiles, checkPaths, type CheckOptions, type CheckResult } from "./checker/check.js";
export { format } from "./formatter/format.js";
export type { Policy, CheckedControl, CheckedPromise, CheckedWaiver } from "./checker/policy.js";
export type { Diagnostic, Span } from "./parser/diagnostics.js";
export * as tcpProbe from "./probes/tcp.js";
export { promiseKeys } from "./evaluator/engine.js";
export { hashPolicy, outcomesDigest, StateStore, stateOf, type ChangeBody, type PolicyBody, type RunBody, type HistoryEntry, type VerifyReport } from "./store/store.js";
export type { PromiseResult } from "./evaluator/engine.js";
