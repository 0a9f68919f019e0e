# Sourced by node-binding/scripts/check-dist.sh and python-binding/scripts/check-dist.sh: one
# counted, TAP-like check runner for both release rehearsals.
passed=0
failed=0
check() { # check NAME COMMAND...: run, report, count; never stops the script
    local name="$1"; shift
    local log; log="$(mktemp)"
    if "$@" >"$log" 2>&1; then
        passed=$((passed + 1)); printf 'ok %d - %s\n' "$((passed + failed))" "$name"
        sed 's/^/    /' "$log" | tail -n 3
    else
        failed=$((failed + 1)); printf 'not ok %d - %s\n' "$((passed + failed))" "$name"
        sed 's/^/    /' "$log" | tail -n 40
    fi
    rm -f "$log"
}
