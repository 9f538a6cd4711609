// The channel contract (contract.ts) run against each channel, with its real receiver on
// 127.0.0.1. A channel added to the registry adds its harness here.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser, type ParsedMail } from "mailparser";
import { makeChannel } from "../../src/notifiers/registry.js";
import { startSmtpServer } from "../helpers/smtp-server.js";
import { startTwilioStandin } from "../helpers/twilio-standin.js";
import { channelContract, type ChannelHarness } from "./contract.js";
import { testContext } from "./context.js";
import { security } from "./messages.js";

channelContract("email", async (): Promise<ChannelHarness> => {
  const smtp = await startSmtpServer();
  const dir = mkdtempSync(join(tmpdir(), "covenant-contract-email-"));
  const passwordFile = join(dir, "smtp.pass");
  writeFileSync(passwordFile, smtp.password, { mode: 0o600 });
  const config = {
    type: "email",
    name: "mail",
    host: "127.0.0.1",
    port: smtp.port,
    tls: "starttls",
    caFile: smtp.caFile,
    auth: { user: smtp.user, password: { file: passwordFile } },
    from: "Covenant <covenant@example.com>",
    timeoutMs: 3000,
  } as const;
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
    async stop() {
      await smtp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

channelContract("twilio", async (): Promise<ChannelHarness> => {
  const standin = await startTwilioStandin();
  const env = "COVENANT_CONTRACT_TWILIO_TOKEN";
  process.env[env] = standin.authToken;
  const config = { type: "twilio", name: "sms", accountSid: standin.accountSid, authToken: { env }, from: "+15550000000", apiUrl: standin.url, timeoutMs: 3000 } as const;
  const sms = (item: unknown) => item as { body: string };
  return {
    make: () => makeChannel(config, testContext()),
    received: async () => [...standin.messages],
    shows: (item) => sms(item).body,
    idOf: () => undefined,
    outsideText: "escaped",
    showsWholeReason: false,
    breakTemporarily: () => void (standin.mode = { kind: "rate-limit", retryAfter: "1" }),
    breakPermanently: () => void standin.landlines.add(security.people[0]!.phone!),
    heal() {
      standin.mode = { kind: "normal" };
      standin.landlines.clear();
    },
    down: () => standin.stop(),
    up: () => standin.start(),
    secret: standin.authToken,
    async stop() {
      delete process.env[env];
      await standin.close();
    },
  };
});
