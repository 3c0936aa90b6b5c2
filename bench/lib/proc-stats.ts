/** What Linux's /proc says about a process: CPU time and resident memory. */
import { readFileSync } from "node:fs";

/** CPU time a process has run so far, in microseconds (all threads; Linux), or undefined. */
export function processCpuUs(pid: number): number | undefined {
  try {
    // /proc/PID/schedstat: nanoseconds on CPU, … (accounts every thread of the process)
    return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1000;
  } catch {
    try {
      // /proc/PID/stat fields 14 and 15: utime and stime in clock ticks (100 per second)
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
      return (Number(fields[11]) + Number(fields[12])) * 10_000;
    } catch {
      return undefined;
    }
  }
}

/** Resident memory of a process now (VmRSS) and at its peak (VmHWM), in MiB, from /proc/PID/status. */
export function residentMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]) / 1024;
  };
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}
