// The pages of a PDF that Chromium printed, read from its uncompressed object structure: the page
// tree in order, each page's height, and the named destinations Chromium writes for the elements
// links point at (an anchor's page and its height on that page), and the links that lead there. Enough to tell how many pages a
// document printed to and on which page, and how far down it, a section starts.
export interface PdfPages {
  /** pages in reading order, by object number */
  pages: number[];
  /** each page's height in points (MediaBox) */
  heights: number[];
  /** the named destinations: which page (index from 0) and how high on it (points from the bottom) */
  destinations: Map<string, { page: number; y: number }>;
  /** the links inside the document: the page each is on, and the destination it takes the reader to */
  links: { page: number; to: string }[];
}

function objectBody(pdf: string, n: number): string {
  const start = pdf.search(new RegExp(`(^|\\n)${n} 0 obj\\b`));
  if (start < 0) throw new Error(`no object ${n} in the PDF`);
  const end = pdf.indexOf("endobj", start);
  return pdf.slice(start, end);
}

const refOf = (body: string, key: string): number | undefined => {
  const m = new RegExp(`/${key} (\\d+) 0 R`).exec(body);
  return m ? Number(m[1]) : undefined;
};

function leaves(pdf: string, n: number): number[] {
  const body = objectBody(pdf, n);
  if (/\/Type \/Page\b(?!s)/.test(body)) return [n];
  const kids = /\/Kids \[([^\]]*)\]/.exec(body);
  if (!kids) throw new Error(`page tree node ${n} has no kids`);
  return [...kids[1]!.matchAll(/(\d+) 0 R/g)].flatMap((k) => leaves(pdf, Number(k[1])));
}

export function readPdfPages(buffer: Buffer): PdfPages {
  const pdf = buffer.toString("latin1");
  const catalogAt = pdf.indexOf("/Type /Catalog");
  if (catalogAt < 0) throw new Error("no catalog in the PDF");
  const catalog = pdf.slice(catalogAt, pdf.indexOf("endobj", catalogAt));
  const root = refOf(catalog, "Pages");
  if (root === undefined) throw new Error("the catalog names no page tree");
  const pages = leaves(pdf, root);
  const heights = pages.map((p) => {
    const box = /\/MediaBox \[([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)\]/.exec(objectBody(pdf, p));
    if (!box) throw new Error(`page object ${p} has no MediaBox`);
    return Number(box[4]) - Number(box[2]);
  });
  const destinations = new Map<string, { page: number; y: number }>();
  const dests = refOf(catalog, "Dests");
  if (dests !== undefined) {
    for (const m of objectBody(pdf, dests).matchAll(/\/([^\s[/]+) \[(\d+) 0 R \/XYZ [\d.-]+ ([\d.-]+)/g)) {
      destinations.set(m[1]!, { page: pages.indexOf(Number(m[2])), y: Number(m[3]) });
    }
  }
  const links = pages.flatMap((p, page) => {
    const annots = /\/Annots \[([^\]]*)\]/.exec(objectBody(pdf, p));
    if (!annots) return [];
    return [...annots[1]!.matchAll(/(\d+) 0 R/g)].flatMap((a) => {
      const dest = /\/Subtype \/Link[\s\S]*\/Dest \/([^\s/>\]]+)/.exec(objectBody(pdf, Number(a[1])));
      return dest ? [{ page, to: dest[1]! }] : [];
    });
  });
  return { pages, heights, destinations, links };
}
