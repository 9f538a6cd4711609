// Short ids people read aloud and retype (deficiency and message ids): lowercase Crockford base32.

/** Crockford's alphabet, lower case: no i, l, o or u, so an id read aloud or retyped survives. */
const crockford = "0123456789abcdefghjkmnpqrstvwxyz";

/** The first `chars` base32 characters (5 bits each) of `bytes`. */
export function base32(bytes: Uint8Array, chars: number): string {
  if (chars * 5 > bytes.length * 8) throw new RangeError(`${chars} base32 characters need more than ${bytes.length} bytes`);
  let out = "";
  let buffer = 0;
  let bits = 0;
  let index = 0;
  while (out.length < chars) {
    if (bits < 5) {
      buffer = ((buffer << 8) | bytes[index++]!) & 0xffff;
      bits += 8;
    }
    out += crockford[(buffer >> (bits - 5)) & 31];
    bits -= 5;
  }
  return out;
}
