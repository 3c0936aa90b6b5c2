/**
 * The table of XenAPI messages: each method's parameters, session kind, emergency and Async flags,
 * and handler; lookup accepts the underscore alias.
 */
import type { RpcInput, XapiValue } from "../xmlrpc-codec.js";
import type { CallContext } from "./context.js";

/** Which session a method takes as its first parameter. */
export type SessionKind =
  /** no session (login calls, system.*) */
  | "none"
  /** a normal session issued by this host as master */
  | "normal"
  /** a normal or a local (slave_local_login_with_password) session of this host */
  | "any";

/** One XenAPI message. */
export interface MethodSpec {
  /** Wire name, e.g. "VM.pool_migrate". */
  name: string;
  /** Parameter names, session excluded. */
  params: readonly string[];
  /** How many trailing parameters may be omitted (versioned params). */
  optional?: number;
  session: SessionKind;
  /** In Datamodel.emergency_calls: allowed on slaves and in emergency mode. */
  emergency?: boolean;
  /** `Async.<name>` is allowed. */
  async?: boolean;
  /** Implementation; `args` exclude the session. Throw XapiError to fail. */
  handler: (ctx: CallContext, args: RpcInput[]) => Promise<XapiValue> | XapiValue;
}

/** The table of XenAPI messages the simulator implements. */
export class Registry {
  private readonly methods = new Map<string, MethodSpec>();

  /** Adds a method; duplicate names are a programming error. */
  add(spec: MethodSpec): void {
    if (this.methods.has(spec.name)) throw new Error(`duplicate method ${spec.name}`);
    this.methods.set(spec.name, spec);
  }

  /**
   * Finds a method by wire name, also accepting the underscore alias
   * (`VM_pool_migrate` for `VM.pool_migrate`).
   */
  lookup(name: string): MethodSpec | undefined {
    const exact = this.methods.get(name);
    if (exact) return exact;
    if (name.includes(".")) return undefined;
    for (let i = name.indexOf("_"); i > 0; i = name.indexOf("_", i + 1)) {
      const candidate = this.methods.get(`${name.slice(0, i)}.${name.slice(i + 1)}`);
      if (candidate) return candidate;
    }
    return undefined;
  }

  /** Every synchronous wire name (system.listMethods). */
  names(): string[] {
    return [...this.methods.keys()].sort();
  }
}
