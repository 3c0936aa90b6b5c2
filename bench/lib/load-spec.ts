/** What the load generator (bench/load-client.ts) is asked to run, and what it answers. */

/** How long and how hard to drive a server. Every run is bounded in calls and in time. */
export interface LoadShape {
  /** Calls in flight at once. */
  concurrency: number;
  /** Calls made (and not measured) before measuring. */
  warmupCalls: number;
  /** Measurement stops after this many calls… */
  maxCalls: number;
  /** …or after this many seconds, whichever comes first. */
  maxSeconds: number;
  /** Deadline of one call (default 10 s). */
  callTimeoutMs?: number;
  /** The measured server's process ids: their CPU time during the measurement is reported (Linux /proc). */
  serverPids?: number[];
  /**
   * Paced instead of back to back: each of the `concurrency` callers starts a call at most every
   * pacedIntervalMs (a steady stream, as for a stall probe; a late call is not made up for).
   */
  pacedIntervalMs?: number;
  /** Count the gaps between consecutive answers longer than this (LoadResult.longGaps). */
  gapThresholdMs?: number;
}

/** A gRPC AggregateService call, made with @grpc/grpc-js and protobuf-es codecs. */
export type GrpcCall =
  /** GetAggregate, cycling through these ids. */
  | { method: "GetAggregate"; ids: number[] }
  /** ListAggregates with this page size (no zone filter, first page). */
  | { method: "ListAggregates"; pageSize: number }
  /** CreateAggregate with unique names `${namePrefix}-${n}`. */
  | { method: "CreateAggregate"; namePrefix: string; availabilityZone?: string }
  /** UpdateAggregate of ids[n % ids.length] to the unique name `${namePrefix}-${n}`. */
  | { method: "UpdateAggregate"; ids: number[]; namePrefix: string }
  /** SetAggregateMetadata of ids[n % ids.length]: one key set to a value that changes with n. */
  | { method: "SetAggregateMetadata"; ids: number[] }
  /** DeleteAggregate of ids[n] (each id once: give maxCalls ≤ ids.length, including warm-up). */
  | { method: "DeleteAggregate"; ids: number[] }
  /** HostService.ListHosts with this page size (all hosts, first page). */
  | { method: "ListHosts"; pageSize: number }
  /** HostService.GetHost, cycling through these host names. */
  | { method: "GetHost"; names: string[] }
  /** AgentRegistryService.Heartbeat of the fleet's hosts 0…hosts-1 (bench/lib/fleet-layout.ts), cycling; needs the agent token. */
  | { method: "Heartbeat"; hosts: number; pooledHosts: number };

/** A Nova os-aggregates REST call (HTTP/1.1 keep-alive). */
export type HttpCall =
  | { method: "show"; ids: number[] }
  | { method: "list" }
  | { method: "create"; namePrefix: string; availabilityZone?: string }
  /** PUT of ids[n % ids.length] to the unique name `${namePrefix}-${n}`. */
  | { method: "update"; ids: number[]; namePrefix: string }
  /** set_metadata of ids[n % ids.length]: one key set to a value that changes with n. */
  | { method: "set_metadata"; ids: number[] }
  /** DELETE of ids[n] (each id once). */
  | { method: "delete"; ids: number[] };

/** One load run. */
export type LoadSpec =
  | ({ target: "grpc"; address: string; token?: string; call: GrpcCall } & LoadShape)
  | ({ target: "http"; baseUrl: string; headers: Record<string, string>; call: HttpCall } & LoadShape);

/** The result of one load run (latencies of the measured calls only). */
export interface LoadResult {
  /** Measured calls that completed (successfully or not). */
  calls: number;
  errors: number;
  /** The first error's message, if any. */
  firstError?: string;
  /** From the first measured call's start to the last measured call's end. */
  seconds: number;
  /** Successful calls per second. */
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The longest time between two consecutive answers (or from the start to the first), in ms. */
  maxGapMs: number;
  /** Gaps between consecutive answers longer than the spec's gapThresholdMs (0 without one). */
  longGaps: number;
  /**
   * Server CPU time (user + system, all threads) per successful call, in microseconds, when
   * serverPids were given. Unlike calls/s it hardly depends on what else the machine is running.
   */
  serverCpuUsPerCall?: number;
  /** The load generator's own CPU time per successful call, in microseconds. */
  clientCpuUsPerCall: number;
}
