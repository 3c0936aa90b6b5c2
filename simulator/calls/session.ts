/**
 * session.* messages: password and host-local logins (with the auth-failure delay), logouts and
 * session reads (docs/xenapi-notes.md §Sessions).
 */
import { newRef, newUuid } from "../ids.js";
import type { Machine, SessionRow } from "../state/machine.js";
import { fail } from "../xapi-error.js";
import type { World } from "../world.js";
import { argString, argStringOr } from "./args.js";
import type { CallContext } from "./context.js";
import type { Registry } from "./registry.js";

/**
 * Checks credentials like xapi's PAM login: on failure waits the auth-failure
 * delay, then SESSION_AUTHENTICATION_FAILED [user, "Authentication failure"].
 */
export async function authenticate(world: World, user: string, password: string): Promise<void> {
  if (user === world.options.username && password === world.options.password) return;
  await world.clock.sleep(world.durations.authFailDelayMs);
  fail("SESSION_AUTHENTICATION_FAILED", user, "Authentication failure");
}

function openSession(machine: Machine, user: string, originator: string, local: boolean): SessionRow {
  const session: SessionRow = { ref: newRef(), uuid: newUuid(), local, user, originator, created: Date.now() };
  machine.sessions.set(session.ref, session);
  return session;
}

function sessionOf(ctx: CallContext): SessionRow {
  return ctx.session ?? fail("SESSION_INVALID", "OpaqueRef:NULL");
}

/** session.* messages. */
export function registerSessionCalls(reg: Registry): void {
  reg.add({
    name: "session.login_with_password",
    params: ["uname", "pwd", "version", "originator"],
    optional: 2,
    session: "none",
    handler: async (ctx, args) => {
      const user = argString(args, 0, "uname");
      const password = argString(args, 1, "pwd");
      const originator = argStringOr(args, 3, "originator", "");
      await authenticate(ctx.world, user, password);
      ctx.assertAlive();
      return openSession(ctx.machine, user, originator, false).ref;
    },
  });
  reg.add({
    name: "session.slave_local_login_with_password",
    params: ["uname", "pwd"],
    session: "none",
    emergency: true,
    handler: async (ctx, args) => {
      const user = argString(args, 0, "uname");
      const password = argString(args, 1, "pwd");
      await authenticate(ctx.world, user, password);
      ctx.assertAlive();
      return openSession(ctx.machine, user, "", true).ref;
    },
  });
  reg.add({
    name: "session.logout",
    params: [],
    session: "normal",
    handler: (ctx) => {
      ctx.machine.sessions.delete(sessionOf(ctx).ref);
      return "";
    },
  });
  reg.add({
    name: "session.local_logout",
    params: [],
    session: "any",
    emergency: true,
    handler: (ctx) => {
      ctx.machine.sessions.delete(sessionOf(ctx).ref);
      return "";
    },
  });
  reg.add({
    name: "session.get_this_host",
    params: ["self"],
    session: "normal",
    handler: (ctx, args) => {
      const self = argString(args, 0, "self");
      if (!ctx.machine.sessions.has(self)) fail("HANDLE_INVALID", "session", self);
      return ctx.localHostRef();
    },
  });
  reg.add({
    name: "session.get_this_user",
    params: ["self"],
    session: "normal",
    handler: (ctx, args) => {
      const self = argString(args, 0, "self");
      if (!ctx.machine.sessions.has(self)) fail("HANDLE_INVALID", "session", self);
      return "OpaqueRef:NULL";
    },
  });
  reg.add({
    name: "session.get_uuid",
    params: ["self"],
    session: "normal",
    handler: (ctx, args) => {
      const self = argString(args, 0, "self");
      return ctx.machine.sessions.get(self)?.uuid ?? fail("HANDLE_INVALID", "session", self);
    },
  });
  reg.add({
    name: "session.get_record",
    params: ["self"],
    session: "normal",
    handler: (ctx, args) => {
      const self = argString(args, 0, "self");
      const s = ctx.machine.sessions.get(self) ?? fail("HANDLE_INVALID", "session", self);
      return {
        uuid: s.uuid,
        this_host: ctx.localHostRef(),
        this_user: "OpaqueRef:NULL",
        last_active: new Date(),
        pool: false,
        other_config: {},
        is_local_superuser: true,
        subject: "OpaqueRef:NULL",
        validation_time: new Date(s.created),
        auth_user_sid: "",
        auth_user_name: s.user,
        rbac_permissions: [],
        tasks: [],
        parent: "OpaqueRef:NULL",
        originator: s.originator,
        client_certificate: false,
      };
    },
  });
}
