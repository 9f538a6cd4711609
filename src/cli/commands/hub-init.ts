// `covenant hub init`: a private CA and the hub's certificate for a first installation, and what
// to do with them (the hub's configuration lines, the hosts' `covenant enroll --ca`). Private keys
// never reach the output: only their paths.
import { defaultHubNames } from "../../hub/tls-names.js";
import { HubTlsError } from "../../hub/tls-files.js";
import type { CertificateSummary } from "../../hub/tls.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";


export interface HubInitOptions {
  dir: string;
  /** DNS names and IP addresses of the hub; none: this machine's name and the loopback names */
  names: string[];
  days: number;
  json: boolean;
  /** the instant the certificates start from (tests) */
  now?: Date;
}

export async function runHubInit(opts: HubInitOptions, io: Io): Promise<number> {
  const names = opts.names.length > 0 ? opts.names : defaultHubNames();
  // the x509 library is loaded here only, not when the hub serves or a host enrolls
  const { makeHubCa } = await import("../../hub/tls-ca.js");
  let made: Awaited<ReturnType<typeof makeHubCa>>;
  try {
    made = await makeHubCa({ dir: opts.dir, names, days: opts.days, ...(opts.now ? { now: opts.now } : {}) });
  } catch (err) {
    if (!(err instanceof HubTlsError)) throw err;
    io.err(`covenant hub init: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
  if (opts.json) {
    io.out(JSON.stringify({ dir: made.dir, ca: { key: made.caKey, cert: made.caCert.path, ...made.caCert.summary }, hub: { key: made.key, cert: made.cert.path, ...made.cert.summary } }, null, 2));
    return EXIT.ok;
  }
  const e = escapeText;
  const hub = made.cert.summary;
  const ca = made.caCert.summary;
  const host = hub.names.find((n) => n.startsWith("DNS:"))?.slice(4) ?? hub.names[0]?.replace(/^IP:(.*:.*)$/, "[$1]").replace(/^IP:/, "") ?? "HUB";
  io.out(
    [
      `made a private CA and the hub's certificate in ${e(made.dir)}:`,
      `  ca.key   the CA's private key (0600): only it can issue certificates hosts trust; keep it offline (a copy kept safe, this one removed) once the hub's certificates are made`,
      `  ca.pem   the CA's certificate: give it to every host`,
      ...certificateLines(ca),
      `  hub.key  the hub's private key (0600)`,
      `  hub.pem  the hub's certificate, signed by the CA`,
      ...certificateLines(hub),
      "",
      "In the hub's configuration (hub.yaml):",
      "  tls:",
      `    cert: ${yamlText(made.cert.path)}`,
      `    key: ${yamlText(made.key)}`,
      "",
      "On each host, with ca.pem copied there (check its fingerprint above by another channel):",
      `  covenant enroll https://${e(host)} --token TOKEN --ca ca.pem`,
      "",
      "Hosts reach the hub only by the names above: another name needs a new certificate (docs/hub.md).",
    ].join("\n"),
  );
  return EXIT.ok;
}

function certificateLines(s: CertificateSummary): string[] {
  const e = escapeText;
  return [
    `           subject  ${e(s.subject)}`,
    ...(s.names.length > 0 ? [`           names    ${e(s.names.join(", "))}`] : []),
    `           expires  ${s.notAfter}`,
    `           sha256   ${s.sha256}`,
  ];
}

/** A path as a YAML scalar: bare when it is plain, else quoted (JSON is YAML). */
function yamlText(path: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(path) ? path : escapeText(JSON.stringify(path));
}
