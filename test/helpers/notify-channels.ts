// The `channels:` block of a covenant.yaml for the CLI's notification tests: mail to the test SMTP
// server (STARTTLS, its certificate, AUTH with a password file), a signed webhook, and Twilio at a
// stand-in (or at a port nothing answers on).
import type { TestSmtpServer } from "./smtp-server.ts";
import type { TwilioStandin } from "./twilio-standin.ts";

export interface TestChannels {
  smtp: TestSmtpServer;
  passwordFile: string;
  hookUrl: string;
  smsUrl: string;
  accountSid: string;
  /** each channel's timeout (default 5s); Twilio's may differ */
  timeout?: string;
  smsTimeout?: string;
}

export function channelsYaml(c: TestChannels): string {
  const timeout = c.timeout ?? "5s";
  return `channels:
  mail:
    type: email
    host: 127.0.0.1
    port: ${c.smtp.port}
    tls: starttls
    ca_file: ${c.smtp.caFile}
    auth: { user: ${c.smtp.user}, password_file: ${c.passwordFile} }
    from: "Covenant <covenant@example.com>"
    timeout: ${timeout}
  hook:
    type: webhook
    url: ${c.hookUrl}
    secret_env: TEST_HOOK_SECRET
    timeout: ${timeout}
  sms:
    type: twilio
    account_sid: ${c.accountSid}
    auth_token_env: TEST_TWILIO_TOKEN
    from: "+15550000000"
    api_url: ${c.smsUrl}
    timeout: ${c.smsTimeout ?? timeout}
`;
}

/**
 * A whole covenant.yaml that tells one stakeholder, `ops` (Olga), by mail (STARTTLS, AUTH with
 * `passwordFile`) and by text (the stand-in, its token in the environment variable `tokenEnv`).
 */
export function mailAndTextConfig(c: { smtp: TestSmtpServer; twilio: TwilioStandin; passwordFile: string; tokenEnv: string }): string {
  return `version: 1
stakeholders:
  ops:
    channels: [mail, sms]
    people:
      - { name: Olga, email: olga@example.com, phone: "+15550000001" }
channels:
  mail: { type: email, host: 127.0.0.1, port: ${c.smtp.port}, tls: starttls, ca_file: ${c.smtp.caFile}, from: covenant@example.com, auth: { user: ${c.smtp.user}, password_file: ${c.passwordFile} } }
  sms: { type: twilio, account_sid: ${c.twilio.accountSid}, auth_token_env: ${c.tokenEnv}, from: "+15550000000", api_url: "${c.twilio.url}" }
`;
}
