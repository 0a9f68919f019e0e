#!/usr/bin/env bash
# Runs every cargo-fuzz target of hmac-guard for a while; exits non-zero if any target crashes.
#
#   core/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 30 s, every target)
#
# Works on stable Rust: cargo-fuzz passes nightly-only flags (-Zsanitizer=address, ...) and
# RUSTC_BOOTSTRAP=1 lets a stable rustc accept them. Installs cargo-fuzz if it is missing.
# Corpora grow in core/fuzz/corpus/<target> (git-ignored); crashes land in
# core/fuzz/artifacts/<target>/ and are listed at the end with the command that reproduces them.
set -euo pipefail

secs="${1:-30}"
shift || true
case "$secs" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

echo "== building ${#targets[@]} targets"
# -a: debug assertions on, so the core's debug-only cross-checks (the RFC 9421 fast-path parser
# against the strict one) run on every input.
cargo fuzz build -a

# Each libFuzzer job gets one core; keep the whole run inside the shared machine's 2 cores.
failed=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  corpora=("corpus/$t")
  [ -d "seeds/$t" ] && corpora+=("seeds/$t")
  echo "== $t: ${secs}s"
  log="artifacts/logs/$t.log"
  mkdir -p artifacts/logs
  start=$(date +%s)
  if cargo fuzz run -a "$t" "${corpora[@]}" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
      -dict=dict/hmac.dict -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -Eo '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')
    echo "   ok: $runs runs in $(( $(date +%s) - start ))s, corpus $(find "corpus/$t" -type f | wc -l) files"
    rm -f "$log"
  else
    echo "   FAILED (crash, or build error) in $t: see core/fuzz/$log and core/fuzz/artifacts/$t/"
    grep -E 'panicked at|ERROR: |SUMMARY' "$log" | head -5 | sed 's/^/   /' || true
    failed+=("$t")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "== FAILED: ${failed[*]}"
  for t in "${failed[@]}"; do
    for a in artifacts/"$t"/*; do
      [ -e "$a" ] && echo "   reproduce: (cd core/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -a $t $a)"
    done
  done
  exit 1
fi
echo "== all ${#targets[@]} targets ran ${secs}s each without a crash"
