// The source of the TextMate grammar: `node scripts/grammar.mjs` writes
// syntaxes/covenant.tmLanguage.json (regular expressions read more easily here than escaped in
// JSON); `--check` fails when the JSON is not what this writes (npm test).
//
// Each rule follows the lexer (src/parser/lexer.ts, tokens.ts): the same patterns, in the same
// order of preference, with [A-Za-z0-9_] for the lexer's \w and [0-9] for its \d (oniguruma's are
// Unicode). test/editors/vscode-grammar.test.ts holds the two together over the examples, the
// policy library and random policies, and holds the lists below to the registries.
import { readFileSync, writeFileSync } from "node:fs";
const W = "[A-Za-z0-9_]"; // a name character (the lexer's, ASCII only: oniguruma's \w is Unicode)
const before = `(?<!${W})`;
const after = `(?!${W})`;
const IDENT = "[A-Za-z_][A-Za-z0-9_]*";
const NUM = "-?[0-9]+(?:\\.[0-9]+)?";
const builtins = ["file", "directory", "connections", "listener", "process", "service", "locks", "sysctl", "kernel_module", "lines", "filehandles", "load", "mount", "scheduled", "group", "account", "command", "package", "config"];
const declKeywords = ["let", "context", "control", "waiver", "stakeholder", "calendar"];
const allKeywords = ["import", "let", "context", "control", "waiver", "stakeholder", "calendar", "promise_type", "and", "or", "not", "in", "true", "false"];
const facts = ["hostname", "fqdn", "os", "os_id", "os_family", "os_version", "arch", "kernel", "ip", "year", "quarter", "month", "day_of_month", "weekday", "hour", "minute", "date", "is_business_day", "business_day_of_month", "business_days_left_in_month"];
const weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const durations = ["ms", "s", "m", "h", "d", "w"];
const sizes = ["B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"];
const glued = [...durations, ...sizes, "sigma"];
// where a promise's head may start: a line's start, or after `{`, `}` or `;` on the same line
const headStart = `(?:^|(?<=[{};]))[ \\t]*`;
const IPV6 = `(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:\\.[0-9]{1,3}){0,3}(?:/[0-9]{1,3})?(?![A-Za-z0-9_.:])`;
// a name that is not a keyword, nor the start of an IPv6 address (`fe80::1`), as the lexer reads them
const notKeyword = `(?!(?:${allKeywords.join("|")})${after})(?!${IPV6})`;
// what follows a promise type: a promiser (string, list, number, address, name), `->` or `{`;
// never a word operator (`b and c` continuing a condition from the line before)
const headFollows = `(?=[ \\t]*(?:\\{|->|"|\\[|\\(|-?[0-9]|[A-Za-z_:]))(?![ \\t]*(?:and|or|in|not)${after})`;

const grammar = {
  $schema: "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
  name: "Covenant",
  scopeName: "source.covenant",
  fileTypes: ["promise"],
  patterns: [{ include: "#promise-type-declaration" }, { include: "#tokens" }],
  repository: {
    tokens: {
      patterns: [
        { include: "#comments" },
        { include: "#strings" },
        { include: "#literals" },
        { include: "#declarations" },
        { include: "#keywords" },
        { include: "#stakeholders" },
        { include: "#names" },
        { include: "#punctuation" },
      ],
    },
    comments: {
      patterns: [
        {
          name: "comment.block.covenant",
          begin: "/\\*",
          end: "\\*/",
          beginCaptures: { 0: { name: "punctuation.definition.comment.begin.covenant" } },
          endCaptures: { 0: { name: "punctuation.definition.comment.end.covenant" } },
        },
        { name: "comment.line.double-slash.covenant", match: "(//).*$", captures: { 1: { name: "punctuation.definition.comment.covenant" } } },
        { name: "comment.line.number-sign.covenant", match: "(#).*$", captures: { 1: { name: "punctuation.definition.comment.covenant" } } },
      ],
    },
    strings: {
      patterns: [
        {
          // a text block ends at the first `"""`, escaped or not (as the lexer reads it)
          name: "string.quoted.triple.covenant",
          begin: '"""',
          end: '"""',
          beginCaptures: { 0: { name: "punctuation.definition.string.begin.covenant" } },
          endCaptures: { 0: { name: "punctuation.definition.string.end.covenant" } },
          patterns: [{ include: "#string-escape-in-text-block" }, { include: "#interpolation" }],
        },
        {
          // a string ends at its `"` or, not closed, at the end of its line (a `\` there is left out, as the lexer leaves it)
          name: "string.quoted.double.covenant",
          begin: '"',
          end: '(")|(?=\\\\?$)',
          beginCaptures: { 0: { name: "punctuation.definition.string.begin.covenant" } },
          endCaptures: { 1: { name: "punctuation.definition.string.end.covenant" } },
          patterns: [{ include: "#string-escape" }, { include: "#interpolation" }],
        },
      ],
    },
    "string-escape": {
      patterns: [
        { name: "constant.character.escape.covenant", match: '\\\\[nrt"\\\\$0]' },
        { name: "invalid.illegal.unknown-escape.covenant", match: "\\\\." },
      ],
    },
    "string-escape-in-text-block": {
      patterns: [
        { name: "constant.character.escape.covenant", match: '\\\\(?:[nrt\\\\$0]|"(?!""))' },
        { name: "invalid.illegal.unknown-escape.covenant", match: '\\\\[^"]' },
      ],
    },
    interpolation: {
      patterns: [
        {
          name: "meta.interpolation.covenant",
          match: `(\\$\\{)(${IDENT})(\\})`,
          captures: {
            1: { name: "punctuation.definition.interpolation.begin.covenant" },
            2: { name: "variable.other.interpolated.covenant" },
            3: { name: "punctuation.definition.interpolation.end.covenant" },
          },
        },
        { name: "invalid.illegal.interpolation.covenant", match: '\\$\\{[^}"\\\\]*\\}?' },
      ],
    },
    literals: {
      // in the lexer's order: a date, then an address, then a quantity, then a plain number
      patterns: [
        {
          name: "constant.numeric.date.covenant",
          match: `[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2})?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?(?![A-Za-z0-9_.])`,
        },
        {
          name: "constant.numeric.address.ipv4.covenant",
          match: `[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(?:/[0-9]{1,3})?(?![A-Za-z0-9_.])`,
        },
        {
          name: "constant.numeric.address.ipv6.covenant",
          match: IPV6,
        },
        {
          // a unit glued to its number (`90s`, `10MB`, `3sigma`), or letters that are no unit (`10mb`: E005)
          match: `(${NUM})(?:(${glued.join("|")})|([A-Za-z]+))(?![A-Za-z])`,
          captures: {
            1: { name: "constant.numeric.covenant" },
            2: { name: "keyword.other.unit.covenant" },
            3: { name: "invalid.illegal.unit.covenant" },
          },
        },
        { match: `(${NUM})(%)`, captures: { 1: { name: "constant.numeric.covenant" }, 2: { name: "keyword.other.unit.percent.covenant" } } },
        { match: `(${NUM})[ \\t]+(sigma)${after}`, captures: { 1: { name: "constant.numeric.covenant" }, 2: { name: "keyword.other.unit.covenant" } } },
        {
          // a unit apart from its number (`10 MB`, `80 %`): read as one quantity, and an error
          // (E005); not when a lone `=` follows, where the word is the next attribute's name
          match: `(${NUM})[ \\t]+(?:(?:${[...durations, ...sizes].join("|")})${after}|%)(?![ \\t]*=(?![=~]))`,
          captures: { 1: { name: "constant.numeric.covenant" } },
          name: "invalid.illegal.unit-apart.covenant",
        },
        { name: "constant.numeric.mode.covenant", match: `0[0-7]{3}(?![0-9_.])` },
        { name: "constant.numeric.covenant", match: `${NUM}(?![0-9_.])` },
        { name: "constant.language.boolean.covenant", match: `${before}(?:true|false)${after}` },
      ],
    },
    declarations: {
      patterns: [
        { match: `${before}(import)${after}`, captures: { 1: { name: "keyword.control.import.covenant" } } },
        { match: `${before}(let)[ \\t]+${notKeyword}(${IDENT})`, captures: { 1: { name: "keyword.declaration.let.covenant" }, 2: { name: "variable.other.constant.definition.covenant" } } },
        { match: `${before}(context)[ \\t]+${notKeyword}(${IDENT})`, captures: { 1: { name: "keyword.declaration.context.covenant" }, 2: { name: "entity.name.function.context.covenant" } } },
        { match: `${before}(stakeholder)[ \\t]+${notKeyword}(${IDENT})`, captures: { 1: { name: "keyword.declaration.stakeholder.covenant" }, 2: { name: "entity.name.type.stakeholder.covenant" } } },
        { match: `${before}(${declKeywords.join("|")})${after}`, captures: { 1: { name: "keyword.declaration.$1.covenant" } } },
        { match: `${before}(promise_type)${after}`, captures: { 1: { name: "keyword.declaration.promise_type.covenant" } } },
      ],
    },
    keywords: {
      patterns: [
        { name: "keyword.operator.logical.covenant", match: `${before}(?:and|or|not)${after}` },
        { name: "keyword.operator.expression.in.covenant", match: `${before}in${after}` },
      ],
    },
    stakeholders: {
      // who is told: `-> name` or `-> [name, ...]`
      patterns: [
        {
          name: "meta.stakeholders.covenant",
          begin: "(->)[ \\t]*(\\[)",
          beginCaptures: { 1: { name: "keyword.operator.arrow.covenant" }, 2: { name: "punctuation.section.brackets.begin.covenant" } },
          end: "\\]",
          endCaptures: { 0: { name: "punctuation.section.brackets.end.covenant" } },
          patterns: [{ include: "#comments" }, { include: "#strings" }, { include: "#literals" }, { include: "#declarations" }, { include: "#keywords" }, { name: "variable.other.stakeholder.covenant", match: `${notKeyword}${IDENT}` }, { include: "#punctuation" }],
        },
        { match: `(->)(?:[ \\t]*(${notKeyword}${IDENT}))?`, captures: { 1: { name: "keyword.operator.arrow.covenant" }, 2: { name: "variable.other.stakeholder.covenant" } } },
      ],
    },
    names: {
      patterns: [
        { match: `(${IDENT})[ \\t]*(?==(?![=~]))`, captures: { 1: { name: "entity.other.attribute-name.covenant" } } },
        { match: `${headStart}${notKeyword}(${builtins.join("|")})${after}${headFollows}`, captures: { 1: { name: "support.type.promise.covenant" } } },
        { match: `${headStart}${notKeyword}(${IDENT})${after}${headFollows}`, captures: { 1: { name: "entity.name.type.promise.covenant" } } },
        { name: "support.variable.fact.covenant", match: `(?:${facts.join("|")})${after}` },
        { name: "constant.language.weekday.covenant", match: `(?:${weekdays.join("|")})${after}` },
        { name: "variable.other.covenant", match: IDENT },
      ],
    },
    punctuation: {
      patterns: [
        { name: "keyword.operator.arrow.covenant", match: "->" },
        { name: "keyword.operator.comparison.covenant", match: "==|!=|<=|>=|<|>" },
        { name: "keyword.operator.match.covenant", match: "=~|!~|~" },
        { name: "keyword.operator.assignment.covenant", match: "=" },
        { name: "punctuation.section.block.begin.covenant", match: "\\{" },
        { name: "punctuation.section.block.end.covenant", match: "\\}" },
        { name: "punctuation.section.brackets.begin.covenant", match: "\\[" },
        { name: "punctuation.section.brackets.end.covenant", match: "\\]" },
        { name: "punctuation.section.parens.begin.covenant", match: "\\(" },
        { name: "punctuation.section.parens.end.covenant", match: "\\)" },
        { name: "punctuation.separator.comma.covenant", match: "," },
        { name: "punctuation.terminator.semicolon.covenant", match: ";" },
      ],
    },
    "promise-type-declaration": {
      // `promise_type name { ... attribute key { ... } }`: inside, `attribute` declares one
      name: "meta.promise-type.covenant",
      begin: `${before}(promise_type)${after}(?:[ \\t]+${notKeyword}(${IDENT}))?`,
      beginCaptures: { 1: { name: "keyword.declaration.promise_type.covenant" }, 2: { name: "entity.name.type.promise.covenant" } },
      end: "(?<=\\})",
      patterns: [
        { include: "#comments" },
        {
          begin: "\\{",
          beginCaptures: { 0: { name: "punctuation.section.block.begin.covenant" } },
          end: "\\}",
          endCaptures: { 0: { name: "punctuation.section.block.end.covenant" } },
          patterns: [
            { match: `${headStart}(attribute)[ \\t]+(${IDENT})`, captures: { 1: { name: "keyword.other.attribute.covenant" }, 2: { name: "entity.other.attribute-name.declaration.covenant" } } },
            { include: "#block" },
            { include: "#tokens" },
          ],
        },
        { include: "#tokens" },
      ],
    },
    block: {
      begin: "\\{",
      beginCaptures: { 0: { name: "punctuation.section.block.begin.covenant" } },
      end: "\\}",
      endCaptures: { 0: { name: "punctuation.section.block.end.covenant" } },
      patterns: [{ include: "#block" }, { include: "#tokens" }],
    },
  },
};
const out = new URL("../syntaxes/covenant.tmLanguage.json", import.meta.url);
const text = JSON.stringify(grammar, null, 2) + "\n";
if (process.argv.includes("--check")) {
  if (readFileSync(out, "utf8") !== text) {
    console.error("syntaxes/covenant.tmLanguage.json is not what scripts/grammar.mjs writes: run `node scripts/grammar.mjs`");
    process.exit(1);
  }
} else writeFileSync(out, text);
