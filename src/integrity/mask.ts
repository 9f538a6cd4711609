// Secrets kept out of what a finding shows: the lines of a diff (diff.ts) and the command lines
// of processes that hold a changed file open. A line is masked where any pattern matches: the
// pattern's named group `secret` (or, without one, its whole match) becomes `****`, always four
// stars whatever the length. Matches of all patterns are found on the line as it is and merged
// before anything is replaced, so that one pattern's mask never hides the text another needed.
// Masking errs towards hiding: a value after a key that looks secret is masked to the end of
// its line, comments and all.
//
// Every default pattern runs in time linear in the line (no quantifier nested in another, a
// lookahead where a key word may be anywhere in a token), so a file crafted to make a regular
// expression backtrack cannot stall the watcher; diff.ts also caps the line length.

import { RE2JS } from "re2js";

export const MASK = "****";

// Words that make a key, an option or a variable secret. Long ones count anywhere in the name
// (PGPASSWORD, client_secret, authToken); short ones only as a whole part of it (db_pass,
// MYSQL_PWD, --pw, Set-Cookie), so that --passive, bypass, author or cwd are left alone.
const LONG_WORDS = "password|passwd|passphrase|secret|token|credential|authorization|api[_-]?key|access[_-]?key|private[_-]?key|requirepass|masterauth|rootpw|bindpw";
const SHORT_WORDS = "pass|pwd|pw|auth|cookie|passin|passout|storepass|keypass";
// The prefixes of AWS access key ids: the pattern below, and the words test that comes before it
const AWS_KEY_PREFIXES = "AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA";
const NAME = new RegExp(`(?:${LONG_WORDS})|(?:^|[_.-])(?:${SHORT_WORDS})(?:$|[_.-])`, "i");

/** Whether a key, option or variable named so holds a secret: `DB_PASSWORD`, `api-key`, `pw`. */
export function isSecretName(name: string): boolean {
  return NAME.test(name);
}

/**
 * The default patterns, each applied to one line (of a file or of one argument of a command).
 * See docs/watch-findings.md for what each catches and what it does not. Those that take a value
 * to the end of the line are dotAll (`s`): without it `.` stops at a carriage return or a Unicode
 * line separator, where `$` cannot match, and `password = x\r` of a CRLF file was not masked at
 * all (the masker keeps a line's last `\r` out of what they see, so it is shown, not masked).
 */
export const DEFAULT_SECRET_PATTERNS: readonly RegExp[] = [
  // key = value, key: value, key => value, "key": "value", export KEY=value (to the end of the line)
  new RegExp(`(?<![\\w.-])(?=[\\w.-]*?(?:${LONG_WORDS}))[\\w.-]+["']?\\s*(?:=>|[:=])\\s*(?<secret>\\S.*)$`, "is"),
  new RegExp(`(?<![\\w.-])(?:[\\w.-]*[_.-])?(?:${SHORT_WORDS})["']?\\s*(?:=>|[:=])\\s*(?<secret>\\S.*)$`, "is"),
  // key value, for keys that end in a secret word or are known to take one: `password p` (.netrc),
  // `requirepass p` (redis), `rootpw p` (slapd); never `PasswordAuthentication yes`. In
  // `password = p` the value is p; in `requirepass =p` it is =p
  /(?<!\S)[\w.-]*?(?:password|passwd|passphrase|secret|requirepass|masterauth|rootpw|bindpw)(?:\s+[=:]\s+|\s+)(?<secret>(?![=:]\s*$)\S.*)$/is,
  // <password>value</password>
  /<(?=[\w.-]*?(?:password|passwd|secret|token))[\w.-]+>(?<secret>[^<]*)</i,
  // the rest of a line that opens a private key (a key written on one line, as in JSON)
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?<secret>.+?)(?=-----END|$)/s,
  // credentials in a URL: scheme://user:password@host. Tried only where a run of the scheme's
  // characters begins (the scheme starts at its first letter): tried at each of them, a long run
  // with no `://` after it took time quadratic in its length (300 ms for 20,000 characters)
  /(?<![a-z0-9+.-])[0-9+.-]*[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:(?<secret>[^\s@/]+)@/i,
  // HTTP authorization: Bearer and Basic credentials
  /\b(?:Bearer|bearer|BEARER|Basic)\s+(?<secret>[A-Za-z0-9._~+/=-]{8,})/,
  // AWS access key ids
  new RegExp(`\\b(?:${AWS_KEY_PREFIXES})[A-Z0-9]{16}\\b`),
  // tokens of well-known forms: GitHub, GitLab, Slack, JSON Web Tokens
  /\bgh[opsur]_[A-Za-z0-9]{36,}\b/,
  /\bglpat-[A-Za-z0-9_-]{20,}/,
  /\bxox[abeoprs]-[A-Za-z0-9-]{10,}/,
  /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/,
];

/** A private key block's first and last lines (PEM, OpenSSH, PGP). */
const KEY_BEGIN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/;
const KEY_END = /-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/;

/**
 * A site's own pattern (a promise's `mask`): run on RE2's engine (re2js), whose time is linear in
 * the line whatever the pattern, since it is applied to text an attacker writes. The checker
 * refuses what RE2 cannot run (src/checker/regex-safety.ts).
 */
export interface LinearPattern {
  readonly source: string;
  /** where the pattern's `secret` group (or its whole match) falls on `text` */
  spans(text: string): [number, number][];
}

/** A pattern lines are masked by: a built-in one (a RegExp written to run in linear time), or a site's. */
export type SecretPattern = RegExp | LinearPattern;

/** Compiled once per source: a promise's `mask` is asked for at each of its evaluations. */
const compiled = new Map<string, LinearPattern>();

export function linearPattern(source: string): LinearPattern {
  const known = compiled.get(source);
  if (known) return known;
  const made = compileLinear(source);
  compiled.set(source, made);
  return made;
}

function compileLinear(source: string): LinearPattern {
  const re = RE2JS.compile(source);
  const secret = Object.hasOwn(re.namedGroups(), "secret");
  return {
    source,
    spans(text) {
      const out: [number, number][] = [];
      const m = re.matcher(text);
      while (m.find()) {
        const start = secret ? m.start("secret") : m.start();
        const end = secret ? m.end("secret") : m.end();
        if (start >= 0 && end > start) out.push([start, end]);
      }
      return out;
    },
  };
}

/** Compiled once per list: global and with indices, whatever flags the caller gave. */
export interface Masker {
  line(text: string): { text: string; masked: boolean };
  /**
   * True only when no line of `text` can have anything masked (none of its lines would be by
   * `line`, and none lies in a private key block): every pattern is a built-in one and the text
   * holds none of the words they need. One search of a whole file instead of one a line (the
   * approved copies of repaired files, bench/run).
   */
  passesOver(text: string): boolean;
}

/** The spans of a global, indexed RegExp's matches (its `secret` group, or the whole match). */
function regExpSpans(re: RegExp): (text: string) => [number, number][] {
  return (text) => {
    const out: [number, number][] = [];
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const span = m.indices?.groups?.["secret"] ?? m.indices?.[0];
      if (span && span[1] > span[0]) out.push([span[0], span[1]]);
      if (m[0].length === 0) re.lastIndex++;
    }
    return out;
  };
}

/** The maskers of the pattern lists used without options, made once per list (most are DEFAULT_SECRET_PATTERNS itself). */
const maskers = new WeakMap<readonly SecretPattern[], Masker>();

export function masker(patterns: readonly SecretPattern[] = DEFAULT_SECRET_PATTERNS, options: { prefilter?: boolean } = {}): Masker {
  if (options.prefilter !== undefined) return makeMasker(patterns, options);
  let m = maskers.get(patterns);
  if (m === undefined) maskers.set(patterns, (m = makeMasker(patterns, options)));
  return m;
}

function makeMasker(patterns: readonly SecretPattern[], options: { prefilter?: boolean }): Masker {
  const compiled = patterns.map((p) => (p instanceof RegExp ? regExpSpans(new RegExp(p.source, [...new Set(`${p.flags}gd`)].join(""))) : (t: string) => p.spans(t)));
  // the built-in patterns, passed over together when the prefilter finds none of them can match;
  // any other pattern (a `mask`, a caller's RegExp) is searched on every line
  const builtIn = options.prefilter === false ? [] : patterns.map((p) => p instanceof RegExp && BUILT_IN.has(p));
  const others = compiled.filter((_, i) => !builtIn[i]);
  const filtered = others.length < compiled.length;
  return {
    line(text) {
      // a CRLF line's return is its end, not part of a value: shown as it is, never masked
      const body = text.endsWith("\r") ? text.slice(0, -1) : text;
      const ranges = (filtered && !(builtInWords().test(body) && anyBuiltIn().test(body)) ? others : compiled).flatMap((spans) => spans(body));
      if (ranges.length === 0) return { text, masked: false };
      return { text: replaceRanges(body, ranges) + text.slice(body.length), masked: true };
    },
    // the words are plain literals without a line break: one found nowhere in the text is in no
    // line of it; a private key block's BEGIN line holds one of them ("-----BEGIN ")
    passesOver: (text) => filtered && others.length === 0 && !builtInWords().test(text),
  };
}

const BUILT_IN: ReadonlySet<RegExp> = new Set(DEFAULT_SECRET_PATTERNS);
let builtInAlternation: RegExp | undefined;

/**
 * One test that is false only when no built-in pattern can match: their alternation,
 * case-insensitive and dotAll (as those that run to a line's end are; no other has a `.`), their `secret` groups made plain (a name may be given once). Most lines match
 * no pattern, and one test costs ~12 times less than every pattern's indexed search (a repair
 * approving 200 ledger files, bench/run). Sound for these patterns only, which the property test
 * holds it to (test/integrity/mask.test.ts): in general a pattern made case-insensitive may match
 * less (a negated class or a negative lookahead naming a letter: `[^a]` refuses `A`), and in an
 * alternation a numbered backreference names another pattern's group and a group name may clash.
 * Made once, when first used.
 */
function anyBuiltIn(): RegExp {
  return (builtInAlternation ??= new RegExp(DEFAULT_SECRET_PATTERNS.map((p) => `(?:${p.source.replaceAll("(?<secret>", "(?:")})`).join("|"), "is"));
}

let builtInWordsAlternation: RegExp | undefined;

/**
 * A cheaper test before that one, false only when the line holds none of the words and marks one
 * of which every built-in pattern needs: a secret word (the key patterns, `<password>`), a key
 * block's BEGIN, a URL's `://`, Bearer or Basic, an AWS key's prefix, and the prefixes of the
 * well-known tokens; case-insensitive, so it finds more than the patterns do, never less (the
 * property test holds it to the patterns). Plain words, no lookaround: a ledger's or a
 * configuration's ordinary line is passed over in a fraction of the alternation's time (masking
 * the copies of repaired ledger files, bench/run).
 */
function builtInWords(): RegExp {
  return (builtInWordsAlternation ??= new RegExp(
    [LONG_WORDS, SHORT_WORDS, "-----BEGIN ", ":\\/\\/", "bearer", "basic", AWS_KEY_PREFIXES, "gh[opsur]_", "glpat-", "xox[abeoprs]-", "eyJ"].join("|"),
    "i",
  ));
}

/** The text with each of the (possibly overlapping) ranges replaced by one MASK per merged range. */
function replaceRanges(text: string, ranges: [number, number][]): string {
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = "";
  let at = 0;
  let i = 0;
  while (i < ranges.length) {
    const start = ranges[i]![0];
    let end = ranges[i]![1];
    for (i++; i < ranges.length && ranges[i]![0] <= end; i++) end = Math.max(end, ranges[i]![1]);
    out += text.slice(at, start) + MASK;
    at = end;
  }
  return out + text.slice(at);
}

/**
 * For each line, whether it lies inside a private key block (after a BEGIN ... PRIVATE KEY line,
 * before its END line): such lines are masked whole. A block never closed runs to the last line.
 */
export function privateKeyLines(lines: readonly string[]): Uint8Array {
  const inside = new Uint8Array(lines.length);
  let open = false;
  lines.forEach((line, i) => {
    if (open && KEY_END.test(line)) {
      open = false;
      // the END line is shown; anything before its marker is the key's last part
      if (!/^\s*-----END/.test(line)) inside[i] = 1;
      return;
    }
    if (open) inside[i] = 1;
    else if (KEY_BEGIN.test(line) && !KEY_END.test(line.slice(line.search(KEY_BEGIN)))) open = true;
  });
  return inside;
}

// Programs whose short options take a secret attached or next: mysql's -pSECRET (-p alone asks
// for it), sshpass -p, curl -u user:password, smbclient -U user%password.
const MYSQL = /^(?:mysql|mysqldump|mysqladmin|mysqlcheck|mysqlimport|mysqlshow|mysqlpump|mysqlslap|mariadb(?:-[a-z-]+)?)$/;
const SSHPASS = /^sshpass$/;
const USER_PASSWORD = /^(?:curl|wget)$/;
const SMBCLIENT = /^(?:smbclient|rpcclient|smbget|net)$/;

type Rule = { text: string; next?: (arg: string) => string };

const whole = () => MASK;
/** `user:password` → `user:****`; a user alone (curl then asks for the password) is kept */
const afterFirst = (sep: string) => (arg: string) => (arg.includes(sep) ? `${arg.slice(0, arg.indexOf(sep) + 1)}${MASK}` : arg);

/**
 * The arguments of a command line with its secrets masked: the value of an option named like
 * a secret (`--password=...`, `--token ...`, `-storepass ...`), of a variable so named
 * (`PGPASSWORD=...`), the attached password of mysql (`-pS3cret`), sshpass (`-p`), curl and
 * wget (`-u user:...`), smbclient (`-U user%...`), and anything the line patterns catch in an
 * argument (a URL's password, a Bearer token, an AWS key). Program rules apply after an argument
 * naming that program, so `sudo -u db mysql -pX` is masked as mysql's.
 */
export function maskArgv(argv: readonly string[], patterns: readonly SecretPattern[] = DEFAULT_SECRET_PATTERNS): string[] {
  const lines = masker(patterns);
  const out: string[] = [];
  let program = "";
  let next: ((arg: string) => string) | undefined;
  for (const arg of argv) {
    // an option that takes a secret next, followed by another long option, had no value
    if (next && !arg.startsWith("--")) {
      out.push(lines.line(next(arg)).text);
      next = undefined;
      continue;
    }
    next = undefined;
    const base = arg.slice(arg.lastIndexOf("/") + 1);
    if (MYSQL.test(base) || SSHPASS.test(base) || USER_PASSWORD.test(base) || SMBCLIENT.test(base)) program = base;
    const rule = programRule(arg, program) ?? optionRule(arg) ?? { text: arg };
    next = rule.next;
    out.push(rule.text === arg && /\s/.test(arg) ? maskScript(arg, patterns) : lines.line(rule.text).text);
  }
  return out;
}

/**
 * An argument that is itself a command line or a script (`sh -c '...'`, `su -c`, a cron job's):
 * each of its lines is masked word by word as arguments are, program rules included, so that
 * `sh -c 'mysql -pX'` hides X as `mysql -pX` does, and then whole by the line patterns, which
 * see one line at a time (their `$` would stop at the first line break and mask nothing).
 */
function maskScript(arg: string, patterns: readonly SecretPattern[]): string {
  const lines = masker(patterns);
  // words at the even places, the blanks (line breaks included) between them at the odd ones:
  // an option's secret on the next line (after a backslash) is still its value
  const parts = arg.split(/(\s+)/);
  const words = maskArgv(parts.filter((_, i) => i % 2 === 0), patterns);
  const masked = parts.map((p, i) => (i % 2 === 0 ? words[i / 2]! : p)).join("");
  return masked
    .split("\n")
    .map((line) => lines.line(line).text)
    .join("\n");
}

function programRule(arg: string, program: string): Rule | undefined {
  if (MYSQL.test(program) && /^-p./s.test(arg)) return { text: `-p${MASK}` };
  if (SSHPASS.test(program) && arg === "-p") return { text: arg, next: whole };
  if (SSHPASS.test(program) && /^-p./s.test(arg)) return { text: `-p${MASK}` };
  if (USER_PASSWORD.test(program) && /^(?:-u|--user|--proxy-user|-U)$/.test(arg)) return { text: arg, next: afterFirst(":") };
  if (USER_PASSWORD.test(program) && /^-u./s.test(arg)) return { text: `-u${afterFirst(":")(arg.slice(2))}` };
  const user = /^(--(?:proxy-)?user=)(.*)$/s.exec(arg);
  if (USER_PASSWORD.test(program) && user) return { text: user[1]! + afterFirst(":")(user[2]!) };
  if (SMBCLIENT.test(program) && /^(?:-U|--user)$/.test(arg)) return { text: arg, next: afterFirst("%") };
  if (SMBCLIENT.test(program) && /^(?:-U.|--user=)/s.test(arg)) {
    const at = arg.startsWith("--user=") ? 7 : 2;
    return { text: arg.slice(0, at) + afterFirst("%")(arg.slice(at)) };
  }
  return undefined;
}

function optionRule(arg: string): Rule | undefined {
  const option = /^(--?)([A-Za-z][\w.-]*)(?:=(.*))?$/s.exec(arg);
  if (option) {
    const [, dashes, name, value] = option;
    // --no-password and the like are switches: what follows is not their value
    if (!isSecretName(name!) || /^no[_-]/i.test(name!)) return undefined;
    return value === undefined ? { text: arg, next: whole } : { text: `${dashes}${name}=${MASK}` };
  }
  const variable = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(arg);
  if (variable && isSecretName(variable[1]!)) return { text: `${variable[1]}=${MASK}` };
  return undefined;
}

/** The masked arguments as one line, an argument quoted where a shell would need it: `mysql -p**** 'two words'`. */
export function maskedCommandLine(argv: readonly string[], patterns?: readonly SecretPattern[]): string {
  return maskArgv(argv, patterns).map(quoteArgument).join(" ");
}

function quoteArgument(arg: string): string {
  return arg !== "" && /^[\w@%+=:,./*-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}
