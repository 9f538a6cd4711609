// A channel's last line of defence for its secrets: whatever a server or library puts in an error
// (a server echoing a command, a URL with credentials), the words a channel returns pass through
// here, so a password or token never reaches the outbox, the history or a terminal.

/** Replaces every occurrence of each secret (and of the given encodings of it) with "[redacted]". */
export function redactor(secrets: string[]): (text: string) => string {
  const present = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  return (text) => present.reduce((t, s) => t.split(s).join("[redacted]"), text);
}
