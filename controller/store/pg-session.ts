/** How the PostgreSQL repos reach the database: the open transaction's connection, or the pool. */
import type { QueryResultRow } from "pg";

/** A place to run statements. */
export interface PgSession {
  /** The rows of one statement (parameters $1, $2, …). */
  rows<R extends QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  /** Throws unless a store transaction is open. */
  requireTransaction(): void;
}

/** "a = $n, b = $n+1, …" for the columns, numbering from first; and their values in that order. */
export function setList(columns: readonly [string, unknown][], first: number): { sql: string; values: unknown[] } {
  return { sql: columns.map(([column], i) => `${column} = $${first + i}`).join(", "), values: columns.map(([, value]) => value) };
}
