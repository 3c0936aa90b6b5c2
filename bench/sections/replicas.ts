/**
 * Issue 14 (point 7): the aggregate API on PostgreSQL against SQLite in the same run, and the
 * failover of a replica.
 *
 * API: two controller processes, one on a SQLite file and one on a PostgreSQL cluster of the run's
 * own (sandbox/postgres-cluster.ts), seeded alike with 500 aggregates; GetAggregate, ListAggregates
 * (one page of 500) and CreateAggregate in alternating rounds; medians, controller CPU per call and
 * the PostgreSQL/SQLite ratios. (The PostgreSQL server's own CPU is not in the controller's figure.)
 *
 * Failover: three replicas on PostgreSQL (chaos/replica-cluster.ts) with a short lease; the replica
 * running a joining AddHost SIGKILLs itself right after the join step acted (AGGREGATES_TEST_CRASH
 * ADD_HOST:during:2); measured from its exit: until another replica logs that it runs the operation
 * (goal ≤ lease TTL + 1 s) and until the operation SUCCEEDED. Skipped with a line when PostgreSQL's
 * initdb/pg_ctl are not installed.
 */
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { OperationState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
import type { ApiClients } from "../../cli/api-clients.js";
import { hasEnded } from "../../cli/wait-operation.js";
import { readRealHosts } from "../../chaos/real-pool.js";
import { ReplicaCluster } from "../../chaos/replica-cluster.js";
import { findPostgresBinDir, postgresMissingReason, startPostgresCluster } from "../../sandbox/postgres-cluster.js";
import { cpuRatio, perRound, printComparisons, throughputRatio, type ComparedRow } from "../lib/compare-table.js";
import { onCleanup } from "../lib/children.js";
import { alternate, median, type Subject } from "../lib/measure.js";
import type { GrpcCall, LoadResult, LoadShape } from "../lib/load-spec.js";
import { ms, num, ratio } from "../lib/report.js";
import { seedController } from "../lib/seed.js";
import type { BenchContext, BenchSection } from "../lib/section.js";
import { startControllerProcess } from "../lib/servers.js";

const seeded = 500;
/** The replicas' lease in the failover measurement, in seconds. */
export const failoverLeaseTtlSeconds = 3;

/** Waits until an operation ended (WaitOperation in a loop; errors while a replica dies are retried). */
async function waitForOperation(api: ApiClients, id: string): Promise<Operation> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const op = await api.operations.waitOperation({ id, timeout: { seconds: 5n, nanos: 0 } }).catch(() => undefined);
    if (op && hasEnded(op)) return op;
    if (Date.now() > deadline) throw new Error(`operation ${id} did not end within 60 s`);
  }
}

async function apiOnBoth(ctx: BenchContext): Promise<void> {
  const { report, options, load } = ctx;
  const dir = join(ctx.tmpDir, "replicas");
  mkdirSync(dir, { recursive: true });
  // Under root the server runs as the postgres user, who must pass through the run's directories.
  chmodSync(ctx.tmpDir, 0o711);
  chmodSync(dir, 0o711);
  report.progress("starting PostgreSQL and a controller on it, and one on SQLite");
  const postgres = await startPostgresCluster({ dir: join(dir, "postgres"), removeOnStop: true });
  onCleanup(() => postgres.stop());
  const [sqlite, pg] = await Promise.all([
    startControllerProcess({ dir: join(dir, "sqlite") }),
    postgres.ensureDatabase("aggregates").then((db) => startControllerProcess({ dir: join(dir, "pg"), db })),
  ]);
  report.progress(`seeding ${seeded} aggregates into each`);
  const [ids] = await Promise.all([seedController(sqlite, seeded), seedController(pg, seeded)]);
  const servers = [
    { name: "SQLite", c: sqlite },
    { name: "PostgreSQL", c: pg },
  ];
  const shape = (concurrency: number, warmupCalls: number): LoadShape => ({ concurrency, warmupCalls, maxCalls: 100_000, maxSeconds: options.seconds });
  const subjects = (call: (round: number) => GrpcCall, s: LoadShape): Subject[] =>
    servers.map(({ name, c }) => ({ name, spec: (round: number) => ({ target: "grpc", address: c.address, token: c.adminToken, serverPids: [c.child.process.pid!], call: call(round), ...s }) }));
  const progress = (method: string) => (round: number, subject: Subject, r: LoadResult) =>
    report.progress(`${method} round ${round + 1}/${options.rounds} ${subject.name}: ${num(r.callsPerSecond)} calls/s${r.errors ? `, ${r.errors} errors` : ""}`);
  const c = options.concurrency;
  const rows: ComparedRow[] = [
    { label: `GetAggregate @${c}`, result: await alternate(load, options.rounds, subjects(() => ({ method: "GetAggregate", ids }), shape(c, 2000)), progress("GetAggregate")) },
    { label: "GetAggregate @1", result: await alternate(load, options.rounds, subjects(() => ({ method: "GetAggregate", ids }), shape(1, 200)), progress("GetAggregate @1")) },
    {
      label: `ListAggregates (${seeded}) @4`,
      result: await alternate(load, options.rounds, subjects(() => ({ method: "ListAggregates", pageSize: seeded }), shape(Math.min(4, c), 20)), progress("ListAggregates")),
    },
    {
      label: `CreateAggregate @${c}`,
      result: await alternate(
        load,
        options.rounds,
        subjects((round) => ({ method: "CreateAggregate", namePrefix: `bench-pg-r${round}`, availabilityZone: "az-new" }), shape(c, 100)),
        progress("CreateAggregate"),
      ),
    },
  ];
  report.line(`medians of ${options.rounds} alternating rounds, each ≤ ${options.seconds} s after a warm-up; CPU is the controller process's (not PostgreSQL's)`);
  printComparisons(report, rows);
  report.table(
    ["call", "PostgreSQL/SQLite calls/s", "controller CPU SQLite ÷ PostgreSQL", "calls/s ratio per round"],
    rows.map(({ label, result }) => [label, ratio(throughputRatio(result)), ratio(cpuRatio(result)), perRound(result).replace("per round: ", "")]),
  );
  for (const { label, result } of rows) report.record(`postgres/${label}`, { sqlite: result.measured[0], postgres: result.measured[1], ratio: throughputRatio(result), cpuRatio: cpuRatio(result) });
  await Promise.all([sqlite.child.stop(), pg.child.stop()]);
  await postgres.stop();
}

async function failover(ctx: BenchContext): Promise<void> {
  const { report } = ctx;
  const rounds = Math.min(ctx.options.rounds, 3);
  report.progress(`starting three replicas on PostgreSQL (lease TTL ${failoverLeaseTtlSeconds} s), the simulator and agents`);
  const cluster = await ReplicaCluster.start({ hosts: 2, baseAddress: "127.0.23.10", timeScale: 0.01, leaseTtlSeconds: failoverLeaseTtlSeconds, heartbeatSeconds: 1 });
  onCleanup(() => cluster.close());
  const api = () => cluster.api();
  const { id: aggregateId } = await api().aggregates.createAggregate({ name: "bench-failover" });
  const founded = await waitForOperation(api(), (await api().aggregates.addHost({ aggregateId, host: "xs1" })).id);
  if (founded.state !== OperationState.SUCCEEDED) throw new Error(`founding AddHost ended ${OperationState[founded.state]}`);
  const resumed: number[] = [];
  const succeeded: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const { id, armed, others } = await cluster.submitToArmedReplica("ADD_HOST:during:2", aggregateId, async (a) => (await a.aggregates.addHost({ aggregateId, host: "xs2" })).id);
    await armed.exited();
    const killedAt = Date.now();
    if (armed.killedBy !== "SIGKILL") throw new Error(`the armed replica was not killed at the join step:\n${armed.output().slice(-2000)}`);
    const done = await waitForOperation(api(), id);
    if (done.state !== OperationState.SUCCEEDED) throw new Error(`AddHost ended ${OperationState[done.state]}: ${done.error?.message}`);
    // When another replica started running it: the time of its "running operation" log line.
    const runningAt = others
      .flatMap((r) => r.output().split("\n"))
      .filter((l) => l.includes('"running operation"') && l.includes(id))
      .map((l) => Date.parse((JSON.parse(l) as { time: string }).time))
      .find((t) => t >= killedAt - 1000);
    if (runningAt === undefined) throw new Error("no other replica logged that it runs the operation");
    resumed.push(runningAt - killedAt);
    succeeded.push(timestampMs(done.finishedAt!) - killedAt);
    report.progress(`round ${round + 1}/${rounds}: resumed ${ms(runningAt - killedAt)} ms, succeeded ${ms(succeeded.at(-1)!)} ms after the kill`);
    await api().hosts.setHostEnabled({ name: "xs2", enabled: false });
    const removed = await waitForOperation(api(), (await api().aggregates.removeHost({ aggregateId, host: "xs2" })).id);
    if (removed.state !== OperationState.SUCCEEDED) throw new Error(`RemoveHost ended ${OperationState[removed.state]}`);
    // The ejected host reboots; it can join again once XenAPI shows it alone.
    const deadline = Date.now() + 30_000;
    const xs2 = cluster.sim.hosts.filter((h) => h.name === "xs2");
    while ((await readRealHosts(xs2, "root", cluster.xapiPassword))[0]!.view.kind !== "master") {
      if (Date.now() > deadline) throw new Error("xs2 did not come back alone within 30 s");
      await new Promise((r) => setTimeout(r, 100)); // poll interval
    }
  }
  report.table(
    ["AddHost killed at the join step (SIGKILL)", "median", "rounds"],
    [
      ["until another replica runs it", `${ms(median(resumed))} ms`, resumed.map((v) => ms(v)).join(" / ")],
      ["until it SUCCEEDED", `${ms(median(succeeded))} ms`, succeeded.map((v) => ms(v)).join(" / ")],
    ],
  );
  const goalMs = failoverLeaseTtlSeconds * 1000 + 1000;
  report.check(`failover: lease TTL + 1 s ÷ time until resumed (goal ≤ ${goalMs} ms)`, goalMs / median(resumed), 1, `(median ${ms(median(resumed))} ms)`);
  report.record("failover", { leaseTtlSeconds: failoverLeaseTtlSeconds, resumedMs: resumed, succeededMs: succeeded });
  await cluster.close();
}

export const replicasSection: BenchSection = {
  name: "replicas",
  title: `PostgreSQL against SQLite (${seeded} aggregates), and failover of a replica`,
  async run(ctx: BenchContext): Promise<void> {
    if (!findPostgresBinDir()) {
      ctx.report.line(`skipped: ${postgresMissingReason}`);
      return;
    }
    await apiOnBoth(ctx);
    await failover(ctx);
  },
};
