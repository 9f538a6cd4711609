// The thread a pushed policy content is checked in (server/content-checker.ts): one message in
// (the content key, its files, the day it is read on), one answer out (catalogue.ts
// CheckedContent), then the thread is ended. A check that runs past its time is ended from
// outside (Worker.terminate): this file only checks.
import { parentPort } from "node:worker_threads";
import { checkContent, type PolicyText } from "../server/catalogue.js";

export interface CheckRequest {
  content: string;
  files: PolicyText[];
  read: string;
}

parentPort?.once("message", (m: CheckRequest) => {
  try {
    parentPort!.postMessage({ ok: checkContent(m.content, m.files, new Date(m.read)) });
  } catch (err) {
    parentPort!.postMessage({ failed: (err as Error).message });
  }
});
