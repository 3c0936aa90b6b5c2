/** The controller's store: one SQLite database, its repositories, and transactions. */
import { openDatabase, type Db } from "./database.js";
import { AggregateRepo } from "./aggregate-repo.js";
import { EventRepo } from "./event-repo.js";
import { HostRepo } from "./host-repo.js";
import { OperationRepo } from "./operation-repo.js";
import { VmOriginRepo } from "./vm-origin-repo.js";

/** All persistent state of the controller. */
export class Store {
  readonly aggregates: AggregateRepo;
  readonly hosts: HostRepo;
  readonly operations: OperationRepo;
  readonly events: EventRepo;
  readonly vmOrigins: VmOriginRepo;

  private constructor(readonly db: Db) {
    this.aggregates = new AggregateRepo(db);
    this.hosts = new HostRepo(db, () => this.aggregates.invalidate());
    this.operations = new OperationRepo(db);
    this.events = new EventRepo(db);
    this.vmOrigins = new VmOriginRepo(db);
  }

  /** Opens the database at path (":memory:" for tests that need no file). */
  static open(path: string): Store {
    return new Store(openDatabase(path));
  }

  /** Runs fn in one IMMEDIATE transaction (all of it is written, or none). */
  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      // A rolled-back write may have been read inside the transaction: forget cached reads.
      this.aggregates.invalidate();
      throw err;
    }
  }

  /** Closes the database. */
  close(): void {
    if (this.db.open) this.db.close();
  }
}
