// The account fixture (test/fixtures/accounts/mixed/etc): passwd, shadow, group and login.defs
// of a host with every kind of account a SOX review looks at, and the password hashes (and
// parts of them) it holds, which must never appear in anything Covenant produces.
export const mixedEtc = "test/fixtures/accounts/mixed/etc";

/** Hashes, salts and hash-like text in the fixture's shadow and passwd files, whole and in parts. */
export const fixtureSecrets = [
  "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$Ey8cPUbvMtXBpyhFPj13PJYo0WOpoMNanlb/CqXyoTD",
  "F5Jx5fExrKuPp53xLKQ..1",
  "Ey8cPUbvMtXBpyhFPj13PJYo0WOpoMNanlb/CqXyoTD",
  "$6$Q9xKnownSalt$Ueup10TisB6Ws4ZVF/GNrctXv7UqbVgY4iK8TOQWovjXUsQM.qwEVbsjVKWt2.SLI1p5azTW2LCglnZgJUQLw/",
  "Q9xKnownSalt",
  "Ueup10TisB6Ws4ZVF",
  "$1$Md5Salt8$LBdodkCWj8i0d6mBLDgAo0",
  "Md5Salt8",
  "LBdodkCWj8i0d6mBLDgAo0",
  "abcdefghijklmnopqrstuuHIrMEWpUCQe2YqFR3sXwQ75u4od..9q",
  "HIrMEWpUCQe2YqFR3sXwQ75u4od",
  "abzlUXK5ed5rs",
  "BrokenLineSalt",
  "NoColonsHereAtAll",
  "NameFieldSalt",
  "HashWhereTheNameShouldBe",
];

/** The secrets that occur in `text` (none, for anything Covenant writes). */
export function secretsIn(text: string): string[] {
  return fixtureSecrets.filter((s) => text.includes(s));
}
