/** What an operation kind declares (its steps, once, with their names) and what a step gets and returns. */
import type { Logger } from "../../shared/logging.js";
import type { ControllerContext } from "../context.js";
import type { OperationKindName, OperationOf, OperationRecord } from "../model/records.js";

/** Everything a step needs. */
export interface StepContext<K extends OperationKindName = OperationKindName> {
  ctx: ControllerContext;
  agents: ControllerContext["agents"];
  /** The operation; steps may write op.params and op.evacuation (saved at checkpoints and with the step's result). */
  op: OperationOf<K>;
  /** Aborted when the controller shuts down or the step's deadline passes: the runner then never records the step as done. */
  signal: AbortSignal;
  /** Milliseconds left before the step's deadline. */
  remainingMs(): number;
  log: Logger;
  /** Sets the operation's progress from how far this step is (0 to 1). */
  reportStepProgress(fraction: number): void;
  /** Saves op (progress, params, evacuation detail) now and wakes watchers. */
  checkpoint(): Promise<void>;
  /** True once CancelOperation was called on this operation. */
  cancelRequested(): Promise<boolean>;
}

/** What a step reports: a detail for people, and whether it had nothing to do. */
export interface StepResult {
  detail: string;
  skipped?: boolean;
}

/** One step: idempotent, checks the real pool before acting. */
export interface StepSpec<K extends OperationKindName = OperationKindName> {
  /** The name recorded in the journal (declared here once). */
  readonly name: string;
  /** True when the step changes the pool (the others only read). */
  readonly mutating: boolean;
  /** True for a planned hand-over of the master role: the master restarts its toolstack meanwhile. */
  readonly handsOverMaster?: boolean;
  /** A deadline longer than the runner's step timeout, for steps that wait on something slow (a host reboot). */
  readonly minTimeoutMs?: number;
  /** The step's name in metrics when its journal name carries a parameter ("xs1:migrate-vms" → "migrate-vms"). */
  readonly metricName?: string;
  run(s: StepContext<K>): Promise<StepResult>;
}

/** What the start and the end of an operation see (inside the store's transaction). */
export interface OperationView<K extends OperationKindName = OperationKindName> {
  ctx: ControllerContext;
  op: OperationOf<K>;
}

/** How an operation ended without success. */
export interface EndOutcome {
  failed: boolean;
  /** False when no step acted: the recorded intent can be undone. */
  changedPool: boolean;
  message: string;
}

/** How one kind of operation runs. */
export interface OperationSpec<K extends OperationKindName = OperationKindName> {
  readonly kind: K;
  /** Every step the kind may plan (kinds whose steps are made per host name them through stepNamed). */
  readonly steps: readonly StepSpec<K>[];
  /** The step behind a recorded name, for kinds whose step names carry a parameter (e.g. "xs1:reboot-host"). */
  stepNamed?(name: string): StepSpec<K> | undefined;
  /** The steps, decided when the operation starts running (recorded, so a resume follows the same plan). */
  plan(s: OperationView<K>): Promise<readonly StepSpec<K>[]>;
  /** True when a failure puts the aggregate into ERROR; evacuations leave the pool as it is. */
  readonly failureBreaksPool: boolean;
  /** Called in the transaction that records success. */
  succeeded(s: OperationView<K>): Promise<void>;
  /** Called in the transaction that records failure or cancellation. */
  ended(s: OperationView<K>, outcome: EndOutcome): Promise<void>;
}

/** The specs of every kind. */
export type OperationSpecs = { readonly [K in OperationKindName]: OperationSpec<K> };

/** The spec of an operation's kind (one cast, here: the union's kind selects its spec). */
export function specOf(specs: OperationSpecs, op: Pick<OperationRecord, "kind">): OperationSpec {
  return specs[op.kind] as unknown as OperationSpec;
}

/** The step spec behind a recorded step name, if the kind declares it. */
export function stepSpecOf(spec: OperationSpec, name: string): StepSpec | undefined {
  return spec.steps.find((st) => st.name === name) ?? spec.stepNamed?.(name);
}
