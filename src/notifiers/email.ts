// The email channel: one message per planned message, to the person's address, through an SMTP
// server with nodemailer. TLS is required as configured (implicit, or STARTTLS that must succeed);
// a configured CA file is trusted besides the system's roots. Messages about one group (and the
// deficiencies in it) form one thread in a mail client, through stable Message-ID, In-Reply-To
// and References headers; a resend after a crash carries the same Message-ID, so a receiver that
// deduplicates drops the copy.
import tls from "node:tls";
import nodemailer, { type NodemailerError, type SMTPPoolOptions } from "nodemailer";
import type { EmailChannel } from "../config/types.js";
import type { Channel, ChannelContext, ChannelFactory, Delivery, Message } from "./contract.js";
import { html, plainText, subject } from "./render.js";
import { redactor } from "./secrets.js";
import { serverWords } from "./text.js";

/** The domain part of every id: the host name as a dot-atom (outside text: anything else becomes "-"). */
export function idDomain(host: string): string {
  const atom = host.toLowerCase().replace(/[^a-z0-9.-]/g, "-").replace(/^[.-]+|[.-]+$/g, "").replace(/\.{2,}/g, ".");
  return `${atom || "localhost"}.covenant`;
}

export interface ThreadHeaders {
  messageId: string;
  inReplyTo: string;
  references: string[];
}

/**
 * Message-ID is the message's own id; References lists a root per member deficiency (an id no
 * message carries, which clients still thread on) and then the group's earlier messages, oldest
 * first; In-Reply-To is the latest earlier message, or the first member's root for a group's first.
 */
export function threadHeaders(message: Message): ThreadHeaders {
  const at = idDomain(message.host);
  const roots = message.deficiencies.map((d) => `<${d.id}@${at}>`);
  const previous = message.previous.map((id) => `<${id}@${at}>`);
  const inReplyTo = previous.at(-1) ?? roots[0] ?? `<${message.groupKey.replace(/[^A-Za-z0-9.-]/g, "-") || "group"}@${at}>`;
  return { messageId: `<${message.id}@${at}>`, inReplyTo, references: [...roots, ...previous] };
}

/** Codes nodemailer gives a failure that ended or never made the connection: worth another try. */
const CONNECTION_CODES = new Set(["ECONNECTION", "ETIMEDOUT", "ESOCKET", "EDNS", "ETLS", "EPROXY", "EABORT"]);

/** Whether an SMTP failure may go through later: 4xx replies and connection trouble yes, 5xx replies no. */
function isRetryable(err: NodemailerError): boolean {
  if (typeof err.permanent === "boolean") return !err.permanent;
  if (typeof err.responseCode === "number") return err.responseCode < 500 || err.responseCode === 503;
  if (err.code === "EAUTH" || err.code === "ENOAUTH" || err.code === "ECONFIG") return false;
  return err.code === undefined || CONNECTION_CODES.has(err.code);
}

function describe(err: NodemailerError): string {
  const why = err.response ?? err.message;
  const code = [err.code, err.originalCode && err.originalCode !== err.code ? err.originalCode : undefined].filter(Boolean).join("/");
  return `${code ? `${code}: ` : ""}${why}`;
}

function transportOptions(config: EmailChannel, ca: string | undefined, password: string | undefined): SMTPPoolOptions {
  return {
    pool: true,
    // a few connections reused across one delivery pass; closed soon after so a CLI run can end
    maxConnections: 2,
    maxMessages: 100,
    maxRequeues: 1,
    idleTimeout: 2000,
    host: config.host,
    port: config.port,
    secure: config.tls === "implicit",
    requireTLS: config.tls === "starttls",
    ignoreTLS: config.tls === "none",
    // a ca_file adds to Node's root certificates, never replaces them
    tls: { ...(ca ? { ca: [...tls.rootCertificates, ca] } : {}), minVersion: "TLSv1.2" },
    auth: config.auth && password !== undefined ? { user: config.auth.user, pass: password } : undefined,
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  };
}

/**
 * A body part sent as base64, which Node encodes natively: quoted-printable (nodemailer's choice
 * for text with long lines or a dash) is encoded a byte at a time in JavaScript, and was most of
 * a message's cost to build. The headers keep nodemailer's choice (a subject stays readable).
 */
function base64Part(content: string): { content: string; contentTransferEncoding: "base64" } {
  return { content, contentTransferEncoding: "base64" };
}

export const createChannel: ChannelFactory = async (config, ctx) => {
  if (config.type !== "email") throw new Error(`channel ${config.name}: not an email channel (${config.type})`);
  return emailChannel(config, ctx);
};

function emailChannel(config: EmailChannel, ctx: ChannelContext): Channel {
  const ca = config.caFile ? ctx.readCaFile(config.caFile, `channel ${config.name}: ca_file`) : undefined;
  const password = config.auth ? ctx.readSecret(config.auth.password, `channel ${config.name}: auth password`) : undefined;
  // the password, and SASL PLAIN's base64 of it with the user (the redactor adds AUTH LOGIN's base64 of the password alone)
  const redact = redactor(password === undefined ? [] : [password, Buffer.from(`\0${config.auth!.user}\0${password}`).toString("base64")]);
  const transport = nodemailer.createTransport(transportOptions(config, ca, password));
  const where = `${config.host}:${config.port}`;

  async function send(message: Message): Promise<Delivery> {
    const to = message.person?.email;
    if (!to) return { ok: false, retryable: false, error: `no email address for ${message.person?.name ?? message.stakeholder.name}` };
    try {
      const thread = threadHeaders(message);
      const ids = message.deficiencies.map((d) => d.id);
      const info = await transport.sendMail({
        from: config.from,
        // the person's name as a display name: nodemailer encodes it, so it cannot add a recipient
        to: message.person?.name ? { name: message.person.name, address: to } : to,
        subject: subject(message),
        text: base64Part(plainText(message)),
        html: base64Part(html(message)),
        date: new Date(message.createdAt),
        messageId: thread.messageId,
        inReplyTo: thread.inReplyTo,
        references: thread.references,
        headers: {
          "X-Covenant-Deficiency": ids.join(", ") || "none",
          "X-Covenant-Message": message.id,
          "X-Covenant-Kind": message.kind,
          // RFC 3834: a machine wrote this; vacation responders stay quiet
          "Auto-Submitted": "auto-generated",
        },
        signal: AbortSignal.timeout(config.timeoutMs * 3),
      });
      const response = serverWords(redact(String(info.response ?? "")));
      return { ok: true, providerId: response || info.messageId, detail: `accepted by ${where} for ${to}${response ? `: ${response}` : ""}` };
    } catch (err) {
      const e = err as NodemailerError;
      return { ok: false, retryable: isRetryable(e), error: serverWords(redact(`smtp ${where}: ${describe(e)}`)) };
    }
  }

  return {
    config,
    send,
    async close() {
      transport.close();
    },
  };
}
