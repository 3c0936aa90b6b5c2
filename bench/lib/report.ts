/** What a benchmark run prints: sections, tables, ratios and target checks (and a JSON record). */

/** A ratio compared with a target: value ≥ target passes (or, for a limit, value ≤ target). */
export interface Check {
  section: string;
  label: string;
  value: number;
  target: number;
  pass: boolean;
  /** Set for a limit (checkAtMost): its unit, e.g. "ms"; value ≤ target passes. */
  limitUnit?: string;
  /** Shown next to the result in the summary (e.g. the CPU cost ratio). */
  note?: string;
}

/** Formats calls/s or other figures for a table. */
export function num(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Formats a ratio like "0.93×". */
export function ratio(value: number): string {
  if (!Number.isFinite(value)) return "–";
  return `${value >= 100 ? num(value) : value >= 10 ? num(value, 1) : num(value, 2)}×`;
}

/** Formats a ratio checked against a target, precise enough that 0.799 never shows as 0.80. */
export function preciseRatio(value: number): string {
  if (!Number.isFinite(value) || value >= 10) return ratio(value);
  return `${num(value, 3)}×`;
}

/** Formats milliseconds. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "–";
  return value >= 100 ? num(value) : value >= 10 ? num(value, 1) : num(value, 2);
}

/** A checked figure as printed: a ratio, or a number with the limit's unit. */
function formatCheck(check: Check, value: number): string {
  if (check.limitUnit === undefined) return preciseRatio(value);
  return check.limitUnit === "" ? num(value) : `${ms(value)} ${check.limitUnit}`;
}

/** Collects and prints a run's output. */
export class Report {
  readonly checks: Check[] = [];
  /** Machine-readable figures, by section (written with --json). */
  readonly data: Record<string, unknown> = {};
  private section = "";
  private readonly startedAt = Date.now();

  /** Starts a section. */
  heading(section: string, title: string): void {
    this.section = section;
    console.log(`\n== ${title} ==`);
  }

  /** Prints a line. */
  line(text = ""): void {
    console.log(text);
  }

  /** Prints a progress note (stderr, so stdout stays the report). */
  progress(text: string): void {
    const seconds = ((Date.now() - this.startedAt) / 1000).toFixed(0).padStart(3);
    process.stderr.write(`  ${seconds}s … ${text}\n`);
  }

  /** Prints an aligned table; columns after the first are right-aligned. */
  table(headers: string[], rows: string[][]): void {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const fmt = (cells: string[]) =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
    console.log(fmt(headers));
    console.log(widths.map((w) => "-".repeat(w)).join("  "));
    for (const row of rows) console.log(fmt(row));
  }

  /** Records and prints a ratio checked against a target. */
  check(label: string, value: number, target: number, detail = "", note?: string): Check {
    const check: Check = { section: this.section, label, value, target, pass: value >= target, note };
    this.checks.push(check);
    console.log(`${label}: ${preciseRatio(value)}  (target ≥ ${ratio(target)})  ${check.pass ? "PASS" : "BELOW TARGET"}${detail ? `  ${detail}` : ""}`);
    return check;
  }

  /** Records and prints a figure checked against a limit: value ≤ limit passes (e.g. a p99 in ms). */
  checkAtMost(label: string, value: number, limit: number, unit: string, detail = ""): Check {
    const check: Check = { section: this.section, label, value, target: limit, pass: value <= limit, limitUnit: unit };
    this.checks.push(check);
    console.log(`${label}: ${formatCheck(check, check.value)}  (target ≤ ${formatCheck(check, limit)})  ${check.pass ? "PASS" : "BELOW TARGET"}${detail ? `  ${detail}` : ""}`);
    return check;
  }

  /** Stores figures for the JSON record. */
  record(key: string, value: unknown): void {
    ((this.data[this.section] ??= {}) as Record<string, unknown>)[key] = value;
  }

  /** Prints every checked target again, at the end of the run. */
  summary(): void {
    if (this.checks.length === 0) return;
    console.log("\n== targets ==");
    this.table(
      ["section / ratio", "measured", "target", "result", "note"],
      this.checks.map((c) => [
        `${c.section}: ${c.label}`,
        formatCheck(c, c.value),
        c.limitUnit === undefined ? `≥ ${ratio(c.target)}` : `≤ ${formatCheck(c, c.target)}`,
        c.pass ? "PASS" : "BELOW TARGET",
        c.note ?? "",
      ]),
    );
  }
}
