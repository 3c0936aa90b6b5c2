/**
 * How many terminal columns text takes, and cutting it to fit: combining marks and zero-width
 * characters take none, East Asian wide characters and emoji take two, the rest one.
 */

const zeroWidth = /[\p{Mn}\p{Me}\u200b-\u200f\u2060\ufeff]/u;
const control = /[\p{Cc}]/gu;

/** East Asian Wide/Fullwidth blocks and emoji (the common ranges; others count as one column). */
const wideRanges: readonly [number, number][] = [
  [0x1100, 0x115f], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff],
  [0xa000, 0xa4cf], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe30, 0xfe4f], [0xff00, 0xff60],
  [0xffe0, 0xffe6], [0x1f300, 0x1f64f], [0x1f900, 0x1f9ff], [0x20000, 0x3fffd],
];

/** Columns one character takes. */
export function charWidth(ch: string): number {
  if (zeroWidth.test(ch)) return 0;
  const cp = ch.codePointAt(0) ?? 0;
  return wideRanges.some(([lo, hi]) => cp >= lo && cp <= hi) ? 2 : 1;
}

/** Columns a text takes (control characters should be replaced first, see fitToWidth). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += charWidth(ch);
  return width;
}

/**
 * The text on one terminal row of `columns` columns: control characters (escapes, tabs, newlines a
 * VM name may hold) shown as "?", and cut to at most `columns` − 1 columns, ending with "…" when cut.
 * The last column stays free, so no terminal wraps the row (some wrap as soon as it is filled).
 */
export function fitToWidth(text: string, columns: number): string {
  const clean = text.replace(control, "?");
  const room = Math.max(1, columns - 1);
  if (displayWidth(clean) <= room) return clean;
  let out = "";
  let width = 0;
  for (const ch of clean) {
    const w = charWidth(ch);
    if (width + w > room - 1) break;
    out += ch;
    width += w;
  }
  return `${out}…`;
}
