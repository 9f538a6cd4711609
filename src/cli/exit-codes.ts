// Exit codes, documented in docs/cli.md and `covenant --help`.
export const EXIT = {
  ok: 0,
  /** deficiencies found (or, for `fmt --check`, files that would change) */
  deficiencies: 1,
  /** policy or configuration error */
  policyError: 2,
  /** internal error: a bug in Covenant */
  internal: 3,
} as const;
