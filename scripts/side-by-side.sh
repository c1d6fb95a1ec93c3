# Sourced by the install and test scripts, which run their slow parts side by side.

# Waits for every background job, given as pairs of a name and a pid, and fails naming each that failed.
wait_for_all() {
  local failed=()
  while (($# >= 2)); do
    wait "$2" || failed+=("$1")
    shift 2
  done
  if ((${#failed[@]})); then
    local joined
    joined=$(printf '%s, ' "${failed[@]}")
    echo "== failed: ${joined%, }" >&2
    return 1
  fi
}
