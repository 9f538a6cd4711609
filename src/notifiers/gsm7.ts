// How long an SMS is, as the network counts it (3GPP TS 23.038). A text made only of the GSM-7
// alphabet travels in 7-bit septets, 160 to a single message; one character outside it turns the
// whole message into UCS-2, 70 UTF-16 code units to a message. A longer text is split into
// concatenated segments that each lose room to the reassembly header: 153 septets or 67 units.
// Twilio bills (and a phone shows a thread break) per segment, so the SMS channel aims for one.

// The basic table, without ESC (0x1B), which only announces an extension character.
const BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
// The extension table: each costs an escape septet and its own, so two.
const EXTENSION = "\f^{}\\[~]|€";

const basic = new Set(BASIC);
const extension = new Set(EXTENSION);

export const GSM7_SINGLE = 160;
export const GSM7_PART = 153;
export const UCS2_SINGLE = 70;
export const UCS2_PART = 67;

/** Whether every character of the text is in the GSM-7 basic or extension table. */
export function isGsm7(text: string): boolean {
  for (const c of text) if (!basic.has(c) && !extension.has(c)) return false;
  return true;
}

/**
 * The text as the units it is sent in, one entry per character: its cost in septets (GSM-7) or
 * UTF-16 code units (UCS-2, where a character beyond the BMP takes a surrogate pair, 2).
 */
function unitsPerCharacter(text: string): { gsm7: boolean; units: number[] } {
  const gsm7 = isGsm7(text);
  const units: number[] = [];
  for (const c of text) units.push(gsm7 ? (extension.has(c) ? 2 : 1) : c.length);
  return { gsm7, units };
}

/** Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes. */
export function smsLength(text: string): number {
  return unitsPerCharacter(text).units.reduce((a, b) => a + b, 0);
}

/**
 * How many segments the text is sent as (0 for an empty text). A character is never split across
 * two segments: an extension character's escape and its septet, or a surrogate pair, move
 * together to the next segment when only one unit is left.
 */
export function smsSegments(text: string): number {
  const { gsm7, units } = unitsPerCharacter(text);
  const total = units.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  if (total <= (gsm7 ? GSM7_SINGLE : UCS2_SINGLE)) return 1;
  const room = gsm7 ? GSM7_PART : UCS2_PART;
  let segments = 1;
  let used = 0;
  for (const u of units) {
    if (used + u > room) {
      segments++;
      used = 0;
    }
    used += u;
  }
  return segments;
}
