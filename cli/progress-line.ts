/** The progress aggctl writes while it waits: one line rewritten in place on a terminal, plain lines otherwise. */
import { fitToWidth } from "./text-width.js";

/** Where progress goes (process.stderr, or a stand-in in tests). */
export interface ProgressStream {
  isTTY?: boolean;
  /** Terminal width when the stream is a terminal. */
  columns?: number;
  write(text: string): unknown;
}

/** Terminal width used when neither stream knows its own. */
export const defaultColumns = 80;

/**
 * A progress writer. On a terminal each text replaces the previous one: the row is cleared
 * (carriage return, erase line) and the text, fitted to the width read at each write (the terminal
 * may be resized), is written without wrapping; `final` ends the row. Elsewhere (a pipe, a log)
 * each text that differs from the previous is written in full as its own line.
 */
export function progressWriter(stream: ProgressStream, fallbackColumns: () => number | undefined = () => process.stdout.columns): (text: string, final?: boolean) => void {
  let last = "";
  return (text, final) => {
    if (stream.isTTY === true) {
      const columns = stream.columns || fallbackColumns() || defaultColumns;
      stream.write(`\r\x1b[2K${fitToWidth(text, columns)}${final ? "\n" : ""}`);
    } else if (text !== last) {
      stream.write(`${text}\n`);
    }
    last = text;
  };
}
