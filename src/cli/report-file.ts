// Writing a report file (`run --junit`, `map --out`) as root may: never through a link (in a
// world-writable directory such as /tmp, another user's link would let them choose which file
// root overwrites), and never into a file with other names (a hard link another user made to a
// file of root's).
import { closeSync, constants, fstatSync, ftruncateSync, openSync, writeSync } from "node:fs";

export function writeReport(path: string, text: string): void {
  writeReportPieces(path, [text]);
}

/** As writeReport, the text given in pieces: a large report is never held as one string and one buffer of it. */
export function writeReportPieces(path: string, pieces: Iterable<string | Buffer>): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY, 0o644);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error("not a regular file"), { code: "not a regular file" });
    if (st.nlink > 1) throw Object.assign(new Error("has other names"), { code: `it has ${st.nlink - 1} other name(s) (a hard link): remove it first` });
    ftruncateSync(fd, 0);
    let position = 0;
    for (const text of pieces) {
      const bytes = typeof text === "string" ? Buffer.from(text) : text;
      for (let at = 0; at < bytes.length; ) {
        const n = writeSync(fd, bytes, at, bytes.length - at, position);
        at += n;
        position += n;
      }
    }
  } finally {
    closeSync(fd);
  }
}
