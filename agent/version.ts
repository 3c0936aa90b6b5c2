/** The agent's software version, reported when it registers. */
export const agentVersion = "0.1.0";
