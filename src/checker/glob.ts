// Shell-style globs for path promisers: `*` and `?` stay within one path segment, `**`
// crosses segments, `[abc]` / `[!abc]` are classes.

const special = new Set([..."\\^$.|+(){}]/"]);

export function globToRegExp(glob: string): RegExp {
  let re = "^";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        re += ".*";
        i++;
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end === -1) re += "\\[";
      else {
        let body = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (body.startsWith("!")) body = `^${body.slice(1)}`;
        re += `[${body}]`;
        i = end;
      }
    } else if (c === "\\" && i + 1 < glob.length) {
      re += `\\${glob[++i]}`;
    } else re += special.has(c) ? `\\${c}` : c;
  }
  return new RegExp(`${re}$`);
}

/** Why `s` is not a usable glob, or undefined when it is one. */
export function globProblem(s: string): string | undefined {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") i++;
    else if (c === "[") depth++;
    else if (c === "]" && depth > 0) depth--;
  }
  if (depth > 0) return "an unclosed `[` in the glob";
  if (!s.includes("[")) return undefined; // only a character class can fail to compile
  try {
    globToRegExp(s);
  } catch {
    return "a character class in the glob is invalid (a range such as `[z-a]` must go upwards)";
  }
  return undefined;
}
