// The types of local-fixtures.mjs, for the tests.
export function localCertificate(opts?: { commonName?: string; localhost?: boolean }): Promise<{ cert: string; key: string }>;
export function scratchDatabase(adminUrl: string, prefix: string): Promise<{ name: string; url: string; drop(): Promise<void> }>;
