// The escaping lives in src/text (below both the CLI and the notifiers, which must not import
// the CLI); the CLI's modules keep importing it from here.
export { escapeKeepingTabs, escapeText } from "../text/escape.js";
