# Sourced by the launchers in bin/: `launch ENTRY ARGS…` runs ENTRY (e.g. cli/main) from the build in
# dist/ when there is one (`npm run build`), else its TypeScript source through tsx (development).
# A dist/ left over from an older checkout is run as it is: rebuild, or remove dist/, after changing code.
# The launchers resolve their own location (symlinks included), so they work from any directory.
launch() {
  root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
  entry="$1"
  shift
  if [ -f "$root/dist/$entry.js" ]; then
    exec node --enable-source-maps "$root/dist/$entry.js" "$@"
  fi
  exec node --import "$root/node_modules/tsx/dist/loader.mjs" "$root/$entry.ts" "$@"
}
