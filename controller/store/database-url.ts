/** Which database a location names (no driver is loaded here: the command line uses it before starting). */

/** True for a postgres:// or postgresql:// connection URL (anything else names a SQLite file). */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** The location as it may be printed: a URL's password is replaced by "***". */
export function printableDatabase(db: string): string {
  if (!isPostgresUrl(db)) return db;
  try {
    const url = new URL(db);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "a postgres:// URL that cannot be parsed";
  }
}
