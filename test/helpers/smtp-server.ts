// A real SMTP server (smtp-server) on 127.0.0.1 for the email channel's tests: STARTTLS (or
// implicit TLS) with a certificate generated for 127.0.0.1, AUTH PLAIN and LOGIN against one
// user, every accepted message kept raw. It can refuse (a recipient with 550, everything with
// 451), and be stopped and started again on the same port, as a mail server that goes down does.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localCertificate } from "./local-fixtures.mjs";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  /** the user that authenticated, if any */
  user?: string;
  /** whether the session was under TLS when the message came */
  secure: boolean;
}

export interface SmtpServerOptions {
  /** TLS from the first byte (smtps) instead of STARTTLS */
  implicitTls?: boolean;
  user?: string;
  password?: string;
  /** a careless server: its 535 reply repeats the password it was given */
  echoCredentials?: boolean;
}

export interface TestSmtpServer {
  readonly port: number;
  /** a PEM file holding the server's certificate, for the channel's ca_file */
  readonly caFile: string;
  readonly user: string;
  readonly password: string;
  readonly messages: ReceivedMail[];
  /** answers RCPT TO for this address with `code` (550: mailbox unavailable) */
  rejectRecipient(address: string, code?: number): void;
  /** answers every RCPT TO with `code` (451: try again later); undefined accepts again */
  rejectAll(code: number | undefined): void;
  /** forgets every rejection: accepts all recipients again */
  acceptAll(): void;
  /** stops listening and drops open connections (the port stays ours to start on again) */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** stops and removes the temporary files */
  close(): Promise<void>;
  /** true: take each message's data but never answer its end (a delivery cut off mid-way, as by a crash) */
  holdData(hold: boolean): void;
  /** how many messages are held unanswered */
  held(): number;
  /** the Message-ID headers of the messages held */
  heldMessageIds(): string[];
}

/** A certificate for 127.0.0.1 (EC keys: quick to make), its own issuer, written where a ca_file can name it. */
async function certificate(dir: string): Promise<{ key: string; cert: string; caFile: string }> {
  const pems = await localCertificate();
  const caFile = join(dir, "smtp-ca.pem");
  writeFileSync(caFile, pems.cert);
  return { key: pems.key, cert: pems.cert, caFile };
}

function smtpError(message: string, code: number): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  const dir = mkdtempSync(join(tmpdir(), "covenant-smtp-"));
  const { key, cert, caFile } = await certificate(dir);
  const user = options.user ?? "covenant";
  const password = options.password ?? "s3cret-smtp-Pa55word";
  const messages: ReceivedMail[] = [];
  const rejected = new Map<string, number>();
  let rejectEverything: number | undefined;
  let holding = false;
  const heldRaw: Buffer[] = [];
  let port = 0;
  let server: SMTPServer | undefined;

  const make = () =>
    new SMTPServer({
      secure: options.implicitTls === true,
      key,
      cert,
      authMethods: ["PLAIN", "LOGIN"],
      // the channel must never send credentials in clear: refuse AUTH before TLS
      allowInsecureAuth: false,
      disableReverseLookup: true,
      logger: false,
      closeTimeout: 200,
      onAuth(auth, _session, callback) {
        if (auth.username === user && auth.password === password) callback(null, { user });
        else callback(smtpError(options.echoCredentials ? `Authentication failed for ${auth.username} with password ${auth.password}` : "Authentication credentials invalid", 535));
      },
      onRcptTo(address, _session, callback) {
        const code = rejectEverything ?? rejected.get(address.address.toLowerCase());
        if (code === undefined) callback();
        else callback(smtpError(code >= 500 ? "Mailbox unavailable" : "Try again later", code));
      },
      onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          if (holding) {
            heldRaw.push(Buffer.concat(chunks));
            return; // never answered: the client waits until it is killed
          }
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
          messages.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks), user: session.user as string | undefined, secure: session.secure });
          callback(null, `queued as Q${messages.length}`);
        });
      },
    });

  const start = async () => {
    server = make();
    const s = server;
    await new Promise<void>((resolve, reject) => {
      s.server.once("error", reject);
      s.listen(port, "127.0.0.1", () => resolve());
    });
    port = (s.server.address() as { port: number }).port;
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await start();

  return {
    get port() {
      return port;
    },
    caFile,
    user,
    password,
    messages,
    rejectRecipient: (address, code = 550) => void rejected.set(address.toLowerCase(), code),
    rejectAll: (code) => void (rejectEverything = code),
    acceptAll() {
      rejected.clear();
      rejectEverything = undefined;
    },
    stop,
    start,
    holdData: (hold) => void (holding = hold),
    held: () => heldRaw.length,
    heldMessageIds: () => heldRaw.map((raw) => /^Message-ID:\s*(<[^>]+>)/im.exec(raw.toString("utf8"))?.[1] ?? ""),
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
