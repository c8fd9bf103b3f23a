/** Text rendering for people: aligned tables and timestamps. */

/** Columns padded to their widest cell, under `headers` unless there are none. */
export function table(headers: string[], rows: string[][]): string {
  const all = headers.length ? [headers, ...rows] : rows;
  const columns = Math.max(0, ...all.map((row) => row.length));
  const widths = Array.from(
    { length: columns },
    (_, i) => Math.max(0, ...all.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
  return all.map(line).join("\n");
}

/** A timestamp to the second (`2026-05-01T10:00:00Z`), or `—` when there is none. */
export function when(iso: string | Date | null | undefined): string {
  if (!iso) return "—";
  const text = typeof iso === "string" ? iso : iso.toISOString();
  return text.replace(/\.\d+Z$/, "Z");
}

/** The list, or a sentence saying it is empty. */
export function listOrNone(rows: string[][], headers: string[], none: string): string {
  return rows.length ? table(headers, rows) : none;
}
