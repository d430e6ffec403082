# Sourced by the benchmarks that time commands: best_of_3 CMD... prints the least wall time of
# three runs, in seconds, process start included; the command's output is thrown away and its
# errors stop the benchmark. Needs $work, a scratch directory.
best_of_3() {
  local best="" s
  for _ in 1 2 3; do
    /usr/bin/time -f "%e" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    s=$(cat "$work/time")
    best=$(python3 -c "print(min(float('$s'), float('${best:-inf}')))")
  done
  echo "$best"
}
