// Passwords as the hub keeps them: scrypt, a memory-hard function (N = 2^15, r = 8, p = 1: 32 MiB
// and tens of milliseconds per guess), a 16-byte random salt, and the parameters written with the
// hash (`scrypt$N$r$p$salt$hash`), so that they can be raised later without locking anyone out:
// a hash made with weaker parameters still verifies, and `needsRehash` says to replace it.
// A password never leaves this module except as that string; comparisons take the same time
// whatever they find (timingSafeEqual), and a user name that does not exist is answered after
// the same work (verifyUnknown), so that the time of a login does not say whether a user exists.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from "node:crypto";

export const MIN_PASSWORD_LENGTH = 12;
/** the longest password taken: scrypt's cost does not grow with it, but a request's size should be bounded */
export const MAX_PASSWORD_LENGTH = 1024;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const CURRENT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** the weakest parameters a stored hash may name (a hash below them is refused, not verified) */
const FLOOR: ScryptParams = { N: 2 ** 14, r: 8, p: 1 };
/** the strongest a stored hash may name: a row changed to absurd parameters must not stall the hub or exhaust its memory */
const CEILING = { N: 2 ** 18, r: 16, p: 4 };
const MAX_MEMORY = 256 * 1024 * 1024;

function scrypt(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // scrypt needs 128 * N * r bytes; node refuses above maxmem, which defaults to 32 MiB exactly
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCallback(password.normalize("NFC"), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Why a new password cannot be used, or undefined. Never says the password. */
export function passwordProblem(password: string): string | undefined {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `a password must have at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `a password may have at most ${MAX_PASSWORD_LENGTH} characters`;
  if (password.trim() !== password) return "a password may not start or end with white space (a file's newline is taken off, nothing else)";
  return undefined;
}

export async function hashPassword(password: string, params: ScryptParams = CURRENT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

export interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

const POWER_OF_TWO = (n: number): boolean => Number.isInteger(n) && n > 1 && (n & (n - 1)) === 0;

export function parseHash(stored: string): ParsedHash | undefined {
  const m = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/=]{1,64})\$([A-Za-z0-9+/=]{1,128})$/.exec(stored);
  if (!m) return undefined;
  const params = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (!POWER_OF_TWO(params.N) || params.N < FLOOR.N || params.N > CEILING.N) return undefined;
  if (params.r < FLOOR.r || params.r > CEILING.r || params.p < FLOOR.p || params.p > CEILING.p || 128 * params.N * params.r > MAX_MEMORY) return undefined;
  const salt = Buffer.from(m[4]!, "base64");
  const key = Buffer.from(m[5]!, "base64");
  if (salt.length < SALT_BYTES || key.length !== KEY_BYTES) return undefined;
  return { params, salt, key };
}

/** Whether the password is the one hashed; a stored value that is not a hash this hub makes never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed || password.length > MAX_PASSWORD_LENGTH) {
    await verifyUnknown(password);
    return false;
  }
  const key = await scrypt(password, parsed.salt, parsed.params);
  return timingSafeEqual(key, parsed.key);
}

let dummy: Promise<string> | undefined;

/** Makes the dummy hash ahead (when the server starts), so that the first unknown name is not answered slower than the rest. */
export function prepareDummyHash(): void {
  dummy ??= hashPassword(randomBytes(24).toString("base64"));
  dummy.catch(() => (dummy = undefined));
}

/** The same work as verifying a password against a real hash, for a user name that does not exist; always false. */
export async function verifyUnknown(password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(24).toString("base64"));
  const parsed = parseHash(await dummy)!;
  const key = await scrypt(password.slice(0, MAX_PASSWORD_LENGTH), parsed.salt, parsed.params);
  timingSafeEqual(key, parsed.key);
  return false;
}

/** Whether a stored hash was made with weaker parameters than the hub's current ones (replace it at the next login). */
export function needsRehash(stored: string): boolean {
  const p = parseHash(stored)?.params;
  return !p || p.N < CURRENT_PARAMS.N || p.r < CURRENT_PARAMS.r || p.p < CURRENT_PARAMS.p;
}
