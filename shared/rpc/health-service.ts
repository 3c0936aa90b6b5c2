/**
 * The standard gRPC health checking protocol (grpc.health.v1.Health) over a HealthState. It is
 * public — load balancers call it without a token — and answers as the protocol says: Check of an
 * unknown service fails with NOT_FOUND; Watch of one sends SERVICE_UNKNOWN and stays open.
 */
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import type { HealthState, ServingStatus } from "./health-state.js";
import { registerService, type ServiceRegistration } from "./service-registration.js";

function toProto(status: ServingStatus | undefined): Status {
  if (status === undefined) return Status.SERVICE_UNKNOWN;
  return status === "serving" ? Status.SERVING : Status.NOT_SERVING;
}

/** The registration of grpc.health.v1.Health (access "public") answering from the state. */
export function healthService(state: HealthState): ServiceRegistration {
  const impl: ServiceImpl<typeof Health> = {
    async check(request) {
      const status = await state.check(request.service);
      if (status === undefined) throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      return { status: toProto(status) };
    },
    async *watch(request, ctx) {
      for await (const status of state.watch(request.service, ctx.signal)) yield { status: toProto(status) };
    },
  };
  return registerService(Health, impl, "public");
}
