// A simulated host's next push (hosts-worker.mjs, profile.mjs): the next template push's records
// (records.mjs) renumbered after what the host has sent, its name put in for the template's, each
// time moved so that the run has just finished, a random MAC each, chained and signed as
// protocol.ts says. Past the template's end the host goes round again, its run numbers carried on.
import { randomBytes } from "node:crypto";

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;

export function makePushBuilder(lib, templates, templateHost) {
  const steady = templates.length - 1;
  return function nextPush(h, now = Date.now()) {
    const k = h.next;
    const cycle = k === 0 ? 0 : Math.floor((k - 1) / steady);
    const tpl = templates[k === 0 ? 0 : 1 + ((k - 1) % steady)];
    const shift = now - tpl.finished;
    const move = (iso) => new Date(Date.parse(iso) + shift).toISOString();
    const runOffset = cycle * steady;
    const lines = [];
    let chain = h.chain;
    let seq = h.seq;
    let mac = "";
    for (const r of tpl.records) {
      seq++;
      const run = r.run === 0 ? 0 : r.run + runOffset;
      let body = r.body.replace(ISO, move);
      if (body.includes(templateHost)) body = body.replaceAll(templateHost, h.name);
      if (runOffset && r.kind === "run") body = body.replace(/^\{"run":\d+/, `{"run":${run}`);
      mac = randomBytes(32).toString("hex");
      const line = lib.extractLine({ seq, kind: r.kind, run, time: move(r.time), body, mac });
      chain = lib.hubChainNext(chain, line);
      lines.push(line);
    }
    const push = {
      protocol: lib.PROTOCOL,
      version: lib.PROTOCOL_VERSION,
      kind: "push",
      host: h.id,
      sentAt: new Date(now).toISOString(),
      key: h.fingerprint,
      after: { seq: h.seq, chain: h.chain.toString("hex") },
      records: lines,
      chain: chain.toString("hex"),
      head: { seq, mac },
    };
    const bytes = lib.encodeBody(push);
    return { bytes, signature: lib.signBody(bytes, h.privateKey), seq, chain, records: lines.length };
  };
}

/** Moves a host on past a push the hub took. */
export function accepted(h, p) {
  h.seq = p.seq;
  h.chain = p.chain;
  h.next++;
}
