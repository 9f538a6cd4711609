// Outside text in XML: the JUnit reports of `covenant run` (src/cli/run-report.ts) and
// `covenant test` (src/testing/report.ts).

// Characters XML 1.0 cannot carry at all, escaped or not: most C0 controls, U+FFFE, U+FFFF and
// halves of surrogate pairs standing alone.
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const XML_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

/** Text for XML content: what XML 1.0 forbids written as a visible escape (`\ufffe`), markup escaped. Line breaks stay. */
export function xmlText(s: string): string {
  return s.replace(XML_FORBIDDEN, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).replace(/[&<>"']/g, (c) => XML_ENTITIES[c]!);
}

/** Text for an XML attribute value: as xmlText, and line breaks and tabs as character references, which attribute normalisation would otherwise turn into spaces. */
export function xmlAttribute(s: string): string {
  return xmlText(s).replace(/[\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}
