/**
 * A minimal terminal for tests: replays what a program wrote to a terminal `columns` wide and tells
 * what stays on screen, and how often a row overflowed and wrapped (which leaves debris when the
 * program later rewrites "its" line with carriage return + erase line).
 */
import { charWidth } from "../../cli/text-width.js";

/** The screen after a replay. */
export interface Screen {
  /** Rows as they show, trailing blanks trimmed. */
  rows: string[];
  /** Times a character did not fit its row and went to the next one. */
  wraps: number;
  /** Most columns any row held. */
  widest: number;
}

/** Replays output (\r, \n, CSI sequences; "ESC[2K" erases the row, other CSI are ignored). */
export function replay(output: string, columns: number): Screen {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  let wraps = 0;
  let widest = 0;
  const chars = [...output];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === "\r") col = 0;
    else if (ch === "\n") {
      row += 1;
      rows[row] ??= [];
    } else if (ch === "\x1b" && chars[i + 1] === "[") {
      let j = i + 2;
      while (j < chars.length && !/[@-~]/.test(chars[j]!)) j++;
      if (chars.slice(i + 2, j).join("") === "2" && chars[j] === "K") rows[row] = [];
      i = j;
    } else {
      const w = charWidth(ch);
      if (col + w > columns) {
        wraps += 1;
        row += 1;
        rows[row] ??= [];
        col = 0;
      }
      const cells = rows[row]!;
      while (cells.length < col) cells.push(" ");
      cells[col] = ch;
      for (let k = 1; k < w; k++) cells[col + k] = "";
      col += w;
      widest = Math.max(widest, col);
    }
  }
  const text = rows.map((cells) => cells.join("").trimEnd());
  while (text.length > 1 && text[text.length - 1] === "") text.pop();
  return { rows: text, wraps, widest };
}
