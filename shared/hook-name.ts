/** What a hook name is (agent `--hook NAME=PATH`, RunHook, StartRollingMaintenance's `hook`): never a path or a command. */
export const hookNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
