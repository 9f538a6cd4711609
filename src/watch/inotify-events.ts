// inotify's event records, as read(2) returns them from an inotify descriptor: a pure decoder
// (and its encoder, for tests and the fuzzer). Each record is struct inotify_event in the host's
// byte order: int wd, uint32 mask, uint32 cookie, uint32 len, then `len` bytes of name, NUL
// padded (len is 0 for an event on the watched directory itself). The kernel writes only whole
// records, so a record cut short is a bug somewhere: said precisely, never thrown.
import { endianness } from "node:os";

export interface InotifyEvent {
  /** the watch descriptor; -1 for IN_Q_OVERFLOW */
  wd: number;
  mask: number;
  /** pairs an IN_MOVED_FROM with its IN_MOVED_TO */
  cookie: number;
  /** the entry of the watched directory the event is about; "" for the directory itself */
  name: string;
}

export interface ParsedEvents {
  events: InotifyEvent[];
  /** why decoding stopped before the end (the events before it are given) */
  error?: string;
}

/** sizeof(struct inotify_event), without the name */
export const EVENT_HEADER_BYTES = 16;

const little = endianness() === "LE";

/** The records in `buf`, in order; a truncated or malformed tail is said in `error`. */
export function parseInotifyEvents(buf: Uint8Array): ParsedEvents {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const events: InotifyEvent[] = [];
  let at = 0;
  while (at < b.length) {
    if (b.length - at < EVENT_HEADER_BYTES) {
      return { events, error: `a record cut short at byte ${at}: its header wants ${EVENT_HEADER_BYTES} bytes, ${b.length - at} left` };
    }
    const wd = little ? b.readInt32LE(at) : b.readInt32BE(at);
    const mask = little ? b.readUInt32LE(at + 4) : b.readUInt32BE(at + 4);
    const cookie = little ? b.readUInt32LE(at + 8) : b.readUInt32BE(at + 8);
    const len = little ? b.readUInt32LE(at + 12) : b.readUInt32BE(at + 12);
    const start = at + EVENT_HEADER_BYTES;
    if (len > b.length - start) {
      return { events, error: `a record cut short at byte ${at}: its name wants ${len} bytes, ${b.length - start} left` };
    }
    const raw = b.subarray(start, start + len);
    const nul = raw.indexOf(0);
    events.push({ wd, mask, cookie, name: raw.subarray(0, nul < 0 ? raw.length : nul).toString("utf8") });
    at = start + len;
  }
  return { events };
}

/** Records as the kernel writes them (names NUL-padded to a multiple of 16 bytes). */
export function encodeInotifyEvents(events: readonly InotifyEvent[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of events) {
    const name = Buffer.from(e.name, "utf8");
    const len = name.length === 0 ? 0 : Math.ceil((name.length + 1) / EVENT_HEADER_BYTES) * EVENT_HEADER_BYTES;
    const rec = Buffer.alloc(EVENT_HEADER_BYTES + len);
    if (little) {
      rec.writeInt32LE(e.wd, 0);
      rec.writeUInt32LE(e.mask >>> 0, 4);
      rec.writeUInt32LE(e.cookie >>> 0, 8);
      rec.writeUInt32LE(len, 12);
    } else {
      rec.writeInt32BE(e.wd, 0);
      rec.writeUInt32BE(e.mask >>> 0, 4);
      rec.writeUInt32BE(e.cookie >>> 0, 8);
      rec.writeUInt32BE(len, 12);
    }
    name.copy(rec, EVENT_HEADER_BYTES);
    parts.push(rec);
  }
  return Buffer.concat(parts);
}
