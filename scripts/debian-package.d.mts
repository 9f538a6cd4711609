// Types of scripts/debian-package.mjs, for the tests that import it through test/helpers/debian-package.ts.
export declare const POLICY_RC_D: string;
export declare function ensureDebianTool(binary: string, pkg: string): string | undefined;
export declare function withServicesHeld<T>(fn: () => T, path?: string): T;
export declare function findProgram(binary: string): string | undefined;
