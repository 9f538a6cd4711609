// `covenant lsp`: the language server over stdio (src/lsp). Its modules load only for this
// command: `run` and `check` never load the protocol library.
import { resolve } from "node:path";
import { standardStream, type Io } from "../io.js";

export interface LspCommandOptions {
  config?: string;
  include: string[];
  maxFileSize?: number;
}

/** Serves until the client says `exit` or closes stdin; the protocol library ends the process then. */
export async function runLsp(opts: LspCommandOptions, io: Io): Promise<number> {
  // stdout carries the protocol: anything else written there would break it, so the console
  // (a library's stray log) goes to stderr, which editors show as the server's log
  const toStderr = (...args: unknown[]) => io.err(args.map(String).join(" "));
  console.log = toStderr;
  console.info = toStderr;
  console.warn = toStderr;
  console.debug = toStderr;
  const { startServer } = await import("../../lsp/server.js");
  // named on the command line: from where the server was started, not from each folder
  const defaults = { include: opts.include.map((d) => resolve(d)), ...(opts.config !== undefined ? { config: resolve(opts.config) } : {}), ...(opts.maxFileSize !== undefined ? { maxFileSize: opts.maxFileSize } : {}) };
  startServer({ input: process.stdin, output: standardStream("stdout") }, defaults);
  // never resolves: the server lives until the library exits the process
  return new Promise<number>(() => undefined);
}
