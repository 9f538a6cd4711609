// The email channel against the real SMTP server (test/helpers/smtp-server.ts) on 127.0.0.1,
// over STARTTLS with the server's own CA, authenticating with a password from a file.
import { simpleParser, type ParsedMail } from "mailparser";
import type { EmailChannel, SecretRef } from "../../../src/config/types.js";
import { makeChannel } from "../../../src/notifiers/registry.js";
import { startSmtpServer, type TestSmtpServer } from "../../helpers/smtp-server.js";
import { secretFile, testContext } from "../context.js";
import { security } from "../messages.js";
import type { ChannelHarness } from "./types.js";

/** An email channel configured for `smtp`, with the password `password` points at. */
export function emailConfig(smtp: TestSmtpServer, password: SecretRef, overrides: Partial<EmailChannel> = {}): EmailChannel {
  return {
    type: "email",
    name: "mail",
    host: "127.0.0.1",
    port: smtp.port,
    tls: "starttls",
    caFile: smtp.caFile,
    auth: { user: smtp.user, password },
    from: "Covenant <covenant@ledger-01.example.com>",
    timeoutMs: 3000,
    ...overrides,
  };
}

export async function emailHarness(): Promise<ChannelHarness> {
  const smtp = await startSmtpServer();
  const config = emailConfig(smtp, secretFile(smtp.password));
  const mail = (item: unknown) => item as ParsedMail;
  return {
    make: () => makeChannel(config, testContext()),
    received: () => Promise.all(smtp.messages.map((m) => simpleParser(m.raw))),
    shows: (item) => `${mail(item).subject}\n${mail(item).text}`,
    markup: (item) => (mail(item).html === false ? undefined : (mail(item).html as string)),
    idOf: (item) => mail(item).messageId,
    outsideText: "escaped",
    showsWholeReason: true,
    breakTemporarily: () => smtp.rejectAll(451),
    breakPermanently: () => smtp.rejectRecipient(security.people[0]!.email!, 550),
    heal: () => smtp.acceptAll(),
    down: () => smtp.stop(),
    up: () => smtp.start(),
    secret: smtp.password,
    stop: () => smtp.close(),
  };
}
