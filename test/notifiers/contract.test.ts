// The channel contract (contract.ts) run against each channel, with its real receiver on
// 127.0.0.1 (harnesses/*.ts). A channel added to the registry adds its harness here.
import { channelContract } from "./contract.js";
import { alertmanagerHarness } from "./harnesses/alertmanager.js";
import { emailHarness } from "./harnesses/email.js";
import { reportHarness } from "./harnesses/report.js";
import { twilioHarness } from "./harnesses/twilio.js";
import { webhookHarness } from "./harnesses/webhook.js";

channelContract("email", emailHarness);
channelContract("twilio", twilioHarness);
channelContract("webhook", webhookHarness);
channelContract("alertmanager", alertmanagerHarness);
channelContract("report", reportHarness);
