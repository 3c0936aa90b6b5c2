import { openSqliteStore } from "./sqlite-store.js";
import { storeSuite } from "../../test/support/store-suite.js";

storeSuite("SqliteStore", async () => {
  const store = openSqliteStore(":memory:");
  return { store, transactionOpen: () => store.db.inTransaction };
});
