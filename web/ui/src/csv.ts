// A small RFC 4180 reader for the screening console's uploads: quoted
// fields, doubled quotes, CRLF or LF.
export function parseCSV(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ""));
}

export interface Query {
  address: string;
  chain?: string;
}

// queries reads addresses from pasted text or a CSV: a header naming an
// "address" column (and optionally "chain") is used; otherwise a row is
// ADDRESS or CHAIN,ADDRESS.
export function queries(text: string): Query[] {
  const rows = parseCSV(text);
  if (rows.length === 0) return [];
  const head = rows[0].map((x) => x.trim().toLowerCase());
  const ai = head.findIndex((x) => x === "address" || x === "wallet" || x === "deposit_address");
  const out: Query[] = [];
  if (ai >= 0) {
    const ci = head.findIndex((x) => x === "chain" || x === "asset" || x === "network");
    for (const r of rows.slice(1)) {
      const a = (r[ai] ?? "").trim();
      if (a) out.push(ci >= 0 && (r[ci] ?? "").trim() ? { address: a, chain: r[ci].trim() } : { address: a });
    }
    return out;
  }
  for (const r of rows) {
    const cells = r.map((x) => x.trim()).filter((x) => x !== "");
    if (cells.length === 1) out.push({ address: cells[0] });
    else if (cells.length >= 2) out.push({ chain: cells[0], address: cells[1] });
  }
  return out;
}
