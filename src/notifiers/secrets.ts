// A channel's last line of defence for its secrets: whatever a server or library puts in an error
// (a server echoing a command, a proxy's error page quoting the request, a URL with credentials),
// the words a channel returns pass through here, so a password or token never reaches the outbox,
// the history or a terminal.

/** What a secret is replaced with in any text a channel returns. */
const REDACTED = "[redacted]";

/**
 * Replaces every occurrence of each secret, and of its base64 form (how SMTP AUTH LOGIN sends a
 * password), with "[redacted]". An encoding of a secret together with other text (HTTP Basic's
 * base64 of "user:password", SASL PLAIN's) is not found this way: give it as a secret of its own.
 */
export function redactor(secrets: string[]): (text: string) => string {
  const given = secrets.filter((s) => s.length > 0);
  const forms = [...given, ...given.map((s) => Buffer.from(s, "utf8").toString("base64"))];
  // the longest first, so that a secret holding another is blotted whole
  const present = [...new Set(forms)].sort((a, b) => b.length - a.length);
  return (text) => present.reduce((t, s) => t.split(s).join(REDACTED), text);
}
