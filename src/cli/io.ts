// Where commands write. A small seam so tests can capture output in-process.
import { escapeText } from "../text/escape.js";
import { EXIT } from "./exit-codes.js";
import { colorEnabled, makeStyle, type Style } from "../text/style.js";

export interface Io {
  out(text: string): void;
  /**
   * Writes as `out` does, resolving once the text has left the process. Output to a pipe is
   * queued in memory when the reader is slower than the writer: a report written in pieces waits
   * for each piece, so megabytes of report are never held at once (bench/notify). Optional: an
   * in-process capture has nothing to wait for.
   */
  outFlushed?(text: string): Promise<void>;
  err(text: string): void;
  /**
   * The exit status to end with if the output is cut off from here on (a reader that stops
   * early): the command's own, once it knows it and still has output to write. Optional.
   */
  exitIfCut?(code: number): void;
  style: Style;
  errStyle: Style;
}

let cutCode: number | undefined;
const guarded = { stdout: false, stderr: false };

/**
 * process.stdout or process.stderr, with the handler of its errors installed at the first call.
 * Node makes each stream the first time it is asked for (on a pipe, loading node:net and its
 * socket with it): a run with nothing to say (`run --quiet` from cron) never makes either.
 * A reader that stops early (`covenant check | head`) closes the pipe: stop writing and end
 * quietly, as other command-line tools do, with the command's status when it is known. Output
 * that cannot be written at all (a full disk, an I/O error) is said in one line and is exit 2:
 * never a stack trace. Whatever the command recorded before is kept.
 */
export function standardStream(name: "stdout" | "stderr"): NodeJS.WriteStream {
  if (!guarded[name]) {
    guarded[name] = true;
    if (name === "stdout") {
      process.stdout.on("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "EPIPE") process.exit(cutCode ?? process.exitCode ?? 0);
        standardStream("stderr").write(`covenant: cannot write the output: ${escapeText(err.code ?? err.message)}\n`);
        process.exit(EXIT.policyError);
      });
    } else {
      process.stderr.on("error", () => process.exit(cutCode ?? process.exitCode ?? 0));
    }
  }
  return process[name];
}

/**
 * The standard streams asked for through standardStream: those with output that may still be
 * on its way (bin/covenant.js waits for them before it exits).
 */
export function streamsInUse(): NodeJS.WriteStream[] {
  return (["stdout", "stderr"] as const).filter((n) => guarded[n]).map((n) => process[n]);
}

/**
 * Ends the process with `code` as soon as the command is done, once `streams` have taken what
 * was written to them: a read stuck in the kernel (a hung network file system) must not keep a
 * finished run alive, and output to a pipe is written asynchronously (Node queues what the pipe
 * cannot take at once): exiting at once cut `covenant history --json | jq` off after 128 KiB.
 * Only a stream the command wrote to is waited for: asking Node for one it did not makes it (on
 * a pipe, with node:net), a few milliseconds of a `run --quiet` that says nothing (bench/run).
 */
export function exitOnceWritten(code: number, streams: readonly NodeJS.WriteStream[] = streamsInUse()): void {
  let open = streams.length;
  if (open === 0) process.exit(code);
  const flushed = () => {
    if (--open === 0) process.exit(code);
  };
  for (const stream of streams) stream.write("", flushed);
}

export function processIo(): Io {
  let style: Style | undefined;
  let errStyle: Style | undefined;
  const line = (t: string) => (t.endsWith("\n") ? t : `${t}\n`);
  return {
    exitIfCut: (code) => {
      cutCode = code;
    },
    out: (t) => standardStream("stdout").write(line(t)),
    // an error (EPIPE) ends the process in the handler above; the callback still comes first
    outFlushed: (t) => new Promise<void>((resolve) => standardStream("stdout").write(line(t), () => resolve())),
    err: (t) => standardStream("stderr").write(line(t)),
    // whether colours are on is asked of the stream when something is styled, not before
    get style() {
      return (style ??= makeStyle(colorEnabled(standardStream("stdout"))));
    },
    get errStyle() {
      return (errStyle ??= makeStyle(colorEnabled(standardStream("stderr"))));
    },
  };
}
