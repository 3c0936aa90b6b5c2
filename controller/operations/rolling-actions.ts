/**
 * What a rolling maintenance does to an empty, disabled host: reboot it and wait until it is back,
 * pause for the operator, or run a hook on its agent. Each step reads the real pool first, so a
 * resumed step (after a restart) continues where the last one stopped.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { xapiErrorOf } from "../../shared/errors.js";
import { Paused } from "../engine/failures.js";
import type { StepContext, StepResult, StepSpec } from "../engine/step-spec.js";
import { nowIso } from "../model/records.js";
import { poolContacts } from "../pool/evacuation-planning.js";
import { callOptions, hostRecord, memberOf, readPool } from "../pool/pool-view.js";
import { isNewerStamp, pause, rollingHost, rollingParams } from "./rolling-host.js";

/** Longest wait for a rebooting host to come back (Xen Orchestra allows 20 min; firmware can be slow). */
export const rebootWaitMs = 40 * 60_000;
/** Longest hook run the controller waits for (the agent kills a hook after its --hook-timeout, 1 h by default). */
export const hookWaitMs = 65 * 60_000;
const pollMs = 250;

/** The pool as the other members' agents see it (the host's own XAPI may be down). */
async function poolWithout(s: StepContext, hostName: string) {
  const host = await hostRecord(s, hostName);
  const contacts = (await poolContacts(s, host.aggregateId!)).filter((n) => n !== hostName);
  const { pool, via } = await readPool(s, contacts.length > 0 ? contacts : [hostName]);
  return { host, pool, via: await hostRecord(s, via) };
}

/** XenAPI answers that mean the reboot asked before is under way (the host is going down or down). */
const rebootUnderWay = new Set(["HOST_OFFLINE", "OTHER_OPERATION_IN_PROGRESS"]);

/** REBOOT, part one: host.reboot through the pool master, once. */
export function rebootHostStep(hostName: string): StepSpec {
  return {
    name: "reboot-host",
    mutating: true,
    async run(s) {
      const rec = rollingHost(s, hostName);
      const { host, pool, via } = await poolWithout(s, hostName);
      const member = memberOf(pool, host.uuid);
      if (rec.reboot && member && isNewerStamp(member.agentStartTime, rec.reboot.previousAgentStartTime)) {
        return { detail: `${hostName} already rebooted (agent_start_time ${member.agentStartTime})`, skipped: true };
      }
      const askedBefore = rec.reboot !== undefined;
      if (!rec.reboot) {
        rec.reboot = { previousAgentStartTime: member?.agentStartTime ?? "", requestedAt: nowIso() };
        await s.checkpoint(); // a resumed step must know what "back" means
      }
      try {
        await s.agents.forHost(via).rebootHost({ hostUuid: host.uuid ?? "" }, callOptions(s, 60_000));
      } catch (err) {
        const code = xapiErrorOf(err)?.code;
        // Asked before this step was interrupted: the host already went down, or is going.
        if (!askedBefore || !code || !rebootUnderWay.has(code)) throw err;
        s.log.info("reboot already under way", { host: hostName, code });
      }
      rec.reboot.accepted = true;
      await s.ctx.store.transaction(async () => {
        await s.ctx.store.events.append({ kind: "host.rebooting", aggregateId: s.op.aggregateId, host: hostName, operationId: s.op.id, message: `${hostName} is rebooting (host.reboot accepted)` });
      });
      return { detail: `host.reboot accepted; ${hostName} goes down after XenServer's fuse` };
    },
  };
}

/** REBOOT, part two: until the host's XAPI answers, its agent_start_time is newer than before the reboot, and it is a live member again. */
export function waitForHostStep(hostName: string): StepSpec {
  return {
    name: "wait-for-host",
    mutating: false,
    minTimeoutMs: rebootWaitMs,
    async run(s) {
      const rec = rollingHost(s, hostName);
      const before = rec.reboot?.previousAgentStartTime ?? "";
      let last = "not read yet";
      for (;;) {
        if (s.signal.aborted) throw new ConnectError(`still waiting for ${hostName} (${last})`, Code.DeadlineExceeded);
        try {
          const { host, pool } = await poolWithout(s, hostName);
          const member = memberOf(pool, host.uuid);
          if (!member) last = `${hostName} is not listed by the pool`;
          else if (!isNewerStamp(member.agentStartTime, before)) last = `agent_start_time still ${member.agentStartTime || "unknown"}`;
          else if (!member.live) last = `${hostName} restarted but is not live yet`;
          else {
            const own = await s.agents.forHost(host).getHostInfo({}, callOptions(s, 5_000));
            if (own.poolUuid === pool.uuid && own.uuid === host.uuid) {
              return { detail: `${hostName} is back: XAPI answers, agent_start_time ${member.agentStartTime} (was ${before || "unknown"}), live member of the pool` };
            }
            last = `${hostName}'s agent does not read the pool yet`;
          }
        } catch (err) {
          last = err instanceof Error ? err.message : String(err);
        }
        await pause(pollMs, s.signal);
      }
    },
  };
}

/** Clears a pause this step recorded once it was resumed; true when it was. */
function takeResume(s: StepContext, stepName: string): boolean {
  const p = rollingParams(s);
  if (p.pause?.step !== stepName || !p.pause.resumed) return false;
  p.pause = undefined;
  return true;
}

/**
 * Records a pause for the operator and stops running the operation until ResumeOperation. A
 * cancellation ends the pause instead: the host goes back into service and the run stops before
 * the next host.
 */
async function pauseHere(s: StepContext, stepName: string, hostName: string, reason: string): Promise<StepResult> {
  const p = rollingParams(s);
  if (await s.cancelRequested()) {
    p.pause = undefined;
    rollingHost(s, hostName).state = "IN_ACTION";
    return { detail: `cancelled while paused (${reason}); ${hostName} goes back into service and the run stops` };
  }
  p.pause = { step: stepName, host: hostName, reason, since: p.pause?.step === stepName ? p.pause.since : nowIso(), resumed: false };
  rollingHost(s, hostName).state = "PAUSED";
  rollingHost(s, hostName).detail = reason;
  await s.checkpoint();
  throw new Paused(reason);
}

/** PAUSE: waits for ResumeOperation while the host is empty and disabled. */
export function pauseStep(hostName: string): StepSpec {
  return {
    name: "pause",
    mutating: false,
    async run(s) {
      const stepName = `${hostName}:pause`;
      if (takeResume(s, stepName)) {
        rollingHost(s, hostName).state = "IN_ACTION";
        return { detail: `resumed by the operator` };
      }
      return await pauseHere(s, stepName, hostName, `${hostName} is empty and disabled: do the work, then "aggctl operation-resume ${s.op.id}"`);
    },
  };
}

/** The last line of a hook's output, for a one-line detail. */
const lastLine = (text: string) => text.trimEnd().split("\n").at(-1) ?? "";

/** HOOK: the host's agent runs its executable of that name; a failure pauses the run with the host in maintenance. */
export function runHookStep(hostName: string): StepSpec {
  return {
    name: "run-hook",
    mutating: true,
    minTimeoutMs: hookWaitMs,
    async run(s) {
      const stepName = `${hostName}:run-hook`;
      const p = rollingParams(s);
      const paused = p.pause?.step === stepName && !p.pause.resumed;
      if (paused) return await pauseHere(s, stepName, hostName, p.pause!.reason); // restarted while paused: still paused
      takeResume(s, stepName);
      rollingHost(s, hostName).state = "IN_ACTION";
      const host = await hostRecord(s, hostName);
      let failure: string;
      try {
        const r = await s.agents.forHost(host).runHook({ name: p.hook }, callOptions(s));
        if (r.exitCode === 0 && !r.timedOut) {
          const detail = `hook "${p.hook}" succeeded in ${Number(r.durationMs) / 1000} s${r.outputTail ? `: ${lastLine(r.outputTail)}` : ""}`;
          rollingHost(s, hostName).detail = detail;
          return { detail };
        }
        const how = r.timedOut ? "ran past the agent's --hook-timeout and was killed" : r.signal ? `was killed by ${r.signal}` : `exited with status ${r.exitCode}`;
        failure = `hook "${p.hook}" ${how} on ${hostName}; last output: ${r.outputTail.slice(-1000) || "(none)"}`;
      } catch (err) {
        const e = ConnectError.from(err);
        if (e.code !== Code.NotFound && e.code !== Code.InvalidArgument) throw err; // transient: retried by the runner
        failure = `hook "${p.hook}" cannot run on ${hostName}: ${e.rawMessage}`;
      }
      return await pauseHere(s, stepName, hostName, `${failure}. ${hostName} stays in maintenance: fix it, then "aggctl operation-resume ${s.op.id}" runs the hook again (or cancel the operation)`);
    },
  };
}
