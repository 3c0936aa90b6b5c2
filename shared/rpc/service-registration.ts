/** A service implementation together with who may call it. */
import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AccessRule } from "../auth.js";

/** One service to serve: its descriptor, its handlers, and its access rule. */
export interface ServiceRegistration<S extends DescService = DescService> {
  service: S;
  impl: ServiceImpl<S>;
  access: AccessRule;
}

/** Builds a registration with the handler types checked against the service. */
export function registerService<S extends DescService>(service: S, impl: ServiceImpl<S>, access: AccessRule): ServiceRegistration {
  return { service, impl, access } as unknown as ServiceRegistration;
}
