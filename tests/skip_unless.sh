# Sourced by the shell tests: skip_unless CONDITION-COMMAND... -- REASON
# Exits 77 (ctest: skipped) with REASON when the command fails, or 1 under QF_REQUIRE_OPTIONAL=1,
# where every optional dependency must be present (CI's fresh-root run; tests/optional_deps.h).
skip_unless() {
  local cmd=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmd+=("$1"); shift; done
  shift
  "${cmd[@]}" >/dev/null 2>&1 && return 0
  if [ "${QF_REQUIRE_OPTIONAL:-}" = 1 ]; then
    echo "QF_REQUIRE_OPTIONAL=1, but: $*" >&2
    exit 1
  fi
  echo "skipping: $*"
  exit 77
}
