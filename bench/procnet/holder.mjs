// Holds real loopback TCP connections open for bench/procnet.
//   node holder.mjs server PORT                 listen on 127.0.0.1:PORT and [::1]:PORT
//   node holder.mjs client PORT N4 N6 SOURCES   open N4 IPv4 connections from SOURCES addresses
//                                               127.0.1.1 .. 127.0.1.SOURCES, and N6 over ::1
// Prints "ready" once everything is open, then waits to be killed.
import { connect, createServer } from "node:net";

const [role, portText, n4Text, n6Text, sourcesText] = process.argv.slice(2);
const port = Number(portText);
const held = [];
if (role === "server") {
  let listening = 0;
  for (const host of ["127.0.0.1", "::1"]) {
    const s = createServer((sock) => held.push(sock));
    s.maxConnections = 100_000;
    s.listen({ port, host, backlog: 4096 }, () => {
      if (++listening === 2) console.log("ready");
    });
  }
} else {
  const n4 = Number(n4Text);
  const n6 = Number(n6Text);
  const sources = Number(sourcesText);
  const open = (host, localAddress) =>
    new Promise((resolve, reject) => {
      const c = connect({ port, host, localAddress }, () => resolve());
      c.on("error", reject);
      held.push(c);
    });
  const jobs = [];
  for (let i = 0; i < n4; i++) {
    jobs.push(open("127.0.0.1", `127.0.1.${(i % sources) + 1}`));
    if (jobs.length >= 500) await Promise.all(jobs.splice(0));
  }
  for (let i = 0; i < n6; i++) jobs.push(open("::1", "::1"));
  await Promise.all(jobs);
  console.log("ready");
}
setInterval(() => {}, 1 << 30);
