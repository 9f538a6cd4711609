// The inotify record decoder (src/watch/inotify-events.ts): what the encoder writes it reads back,
// records cut anywhere never throw and say where, and the kernel's own bytes read as expected.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EVENT_HEADER_BYTES, encodeInotifyEvents, parseInotifyEvents, type InotifyEvent } from "../../src/watch/inotify-events.ts";

// names as the kernel gives them: no NUL, no "/", at most NAME_MAX bytes (ASCII here: 255 chars)
const name = fc.string({ maxLength: 255 }).map((s) => s.replace(/[\0/]/g, "_")).filter((s) => Buffer.byteLength(s) <= 255);
const event: fc.Arbitrary<InotifyEvent> = fc.record({ wd: fc.integer({ min: -1, max: 2 ** 31 - 1 }), mask: fc.nat({ max: 2 ** 32 - 1 }), cookie: fc.nat({ max: 2 ** 32 - 1 }), name });

describe("parseInotifyEvents", () => {
  it("reads back what was encoded", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), (events) => {
        expect(parseInotifyEvents(encodeInotifyEvents(events))).toEqual({ events });
      }),
    );
  });

  it("never throws on a buffer cut anywhere, gives the whole records before the cut and says where it stopped", () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 10 }), fc.nat(), (events, cutAt) => {
        const whole = encodeInotifyEvents(events);
        const cut = cutAt % whole.length;
        const r = parseInotifyEvents(whole.subarray(0, cut));
        // the records wholly before the cut
        let end = 0;
        let n = 0;
        while (n < events.length) {
          const len = whole.readUInt32LE(end + 12);
          if (end + EVENT_HEADER_BYTES + len > cut) break;
          end += EVENT_HEADER_BYTES + len;
          n++;
        }
        expect(r.events).toEqual(events.slice(0, n));
        if (cut === end) expect(r.error).toBeUndefined();
        else expect(r.error).toMatch(new RegExp(`^a record cut short at byte ${end}: its (header|name) wants \\d+ bytes, \\d+ left$`));
      }),
    );
  });

  it("never throws on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = parseInotifyEvents(bytes);
        expect(Array.isArray(r.events)).toBe(true);
      }),
    );
  });

  it("reads the kernel's layout: an overflow record (wd -1, no name) and a named one padded with NULs", () => {
    const b = Buffer.alloc(16 + 16 + 16);
    b.writeInt32LE(-1, 0);
    b.writeUInt32LE(0x4000, 4);
    b.writeInt32LE(3, 16);
    b.writeUInt32LE(0x100 | 0x40000000, 20);
    b.writeUInt32LE(7, 24);
    b.writeUInt32LE(16, 28);
    b.write("new-dir", 32);
    expect(parseInotifyEvents(b)).toEqual({ events: [{ wd: -1, mask: 0x4000, cookie: 0, name: "" }, { wd: 3, mask: 0x40000100, cookie: 7, name: "new-dir" }] });
    expect(parseInotifyEvents(b.subarray(0, 40))).toEqual({ events: [{ wd: -1, mask: 0x4000, cookie: 0, name: "" }], error: "a record cut short at byte 16: its name wants 16 bytes, 8 left" });
  });
});
