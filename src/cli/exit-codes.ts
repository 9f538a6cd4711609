// Exit codes, documented in docs/cli.md and `covenant --help`.
export const EXIT = {
  ok: 0,
  /** deficiencies found (or, for `fmt --check`, files that would change) */
  deficiencies: 1,
  /** policy or configuration error */
  policyError: 2,
  /** internal error: a bug in Covenant */
  internal: 3,
  /** `push`: the hub could not be reached (or answered 5xx): the records wait and are sent later */
  hubUnreachable: 4,
  /** `push`: the hub refused (a fork, a rollback, a position the host cannot match): a person must look */
  hubRefused: 5,
} as const;
