// Types for generate.mjs, for the tests that import it.

/** A Covenant policy of `n` file promises, `perControl` to a control. */
export function covenantPolicy(n: number, perControl?: number): string;
/** The equivalent CFEngine policy. */
export function cfenginePolicy(n: number): string;
/** Writes both into `dir`: their paths. */
export function writePolicies(dir: string, n: number): { cov: string; cf: string };
