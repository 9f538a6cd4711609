// Outside text in XML (src/text/xml.ts), as the JUnit reports of `covenant run` and `covenant test`
// write it; test/cli/run-report.test.ts checks whole reports are well-formed.
import { describe, expect, it } from "vitest";
import { xmlAttribute, xmlText } from "../../src/text/xml.ts";

describe("XML text", () => {
  it("writes what XML 1.0 forbids as visible escapes, and keeps line breaks in attributes as references", () => {
    expect(xmlText("a<b>&\"c'")).toBe("a&lt;b&gt;&amp;&quot;c&apos;");
    expect(xmlText("\u0001\ufffe\ud800x")).toBe("\\u0001\\ufffe\\ud800x");
    expect(xmlText("😀")).toBe("😀");
    expect(xmlAttribute("a\nb\tc")).toBe("a&#10;b&#9;c");
  });
});
