// Types for client.mjs, for the tests that import it.
import type { ChildProcess } from "node:child_process";
import type { MessageConnection } from "vscode-jsonrpc/node";

export interface Published {
  uri: string;
  version?: number;
  diagnostics: Array<{ range: { start: { line: number; character: number }; end: { line: number; character: number } }; severity?: number; code?: string | number; source?: string; message: string; data?: { suggestion?: string; suppressed?: { errors: number; warnings: number } }; relatedInformation?: Array<{ location: { uri: string; range: { start: { line: number; character: number } } }; message: string }> }>;
}

export interface Client {
  connection: MessageConnection;
  child: ChildProcess;
  capabilities: Record<string, unknown>;
  published: Map<string, Published>;
  stderr(): string;
  next(uri: string, accept?: (p: Published) => boolean, timeoutMs?: number): Promise<{ params: Published; at: number }>;
  open(uri: string, text: string, languageId?: string): Promise<void>;
  change(uri: string, contentChanges: unknown[]): number;
  closeDocument(uri: string): Promise<void>;
  request<T = unknown>(method: string, params?: unknown): Promise<T>;
  settled(uri: string, version?: number): Promise<void>;
  close(): Promise<number | null>;
}

export const fileUri: (path: string) => string;
export function startClient(opts: { bin: string; cwd: string; initializationOptions?: Record<string, unknown>; env?: NodeJS.ProcessEnv; args?: string[] }): Promise<Client>;
