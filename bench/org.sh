#!/usr/bin/env bash
# The organization benchmark (a benchmark, not a test): an organization of ACCOUNTS member
# accounts in moto (Organizations, STS and SageMaker), JOBS jobs in each of 3 regions per account,
# synced in one command with --org-role into a fresh SQLite file. It prints the time, and checks
# that every account's jobs are stored under its own account id.
#
#   bench/org.sh [ACCOUNTS] [JOBS]      # defaults: 50 2
#
# moto comes from the venv scripts/test.sh makes (.venv-test), created here if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
. scripts/emulators.sh

ACCOUNTS=${1:-50}
JOBS=${2:-2}
REGIONS=eu-west-3,ap-northeast-3,ca-central-1
work=$(mktemp -d /tmp/sagesync-org.XXXXXX)
on_exit 'rm -rf "$work"'
if [ -z "${SAGESYNC:-}" ]; then cargo build --release --quiet; fi
sagesync=${SAGESYNC:-$PWD/target/release/sagesync}
start_moto url
echo "creating an organization of $ACCOUNTS accounts with $JOBS jobs in each of $REGIONS..." >&2
"$MOTO_PYTHON" tests/fixtures/moto_org.py "$url" "$REGIONS" "$ACCOUNTS" "$JOBS" > "$work/org.json"

args=(--database-url "sqlite://$work/org.db" sync --endpoint-url "$url" --org-role OrgRead)
for r in ${REGIONS//,/ }; do args+=(--region "$r"); done
AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  /usr/bin/time -f "%e %M" -o "$work/time" "$sagesync" "${args[@]}" 2>"$work/sync.err" || { tail -5 "$work/sync.err"; exit 1; }
read -r s kb < "$work/time"
"$sagesync" --database-url "sqlite://$work/org.db" query --format csv \
  --sql "SELECT account_id, region, count(*) AS jobs FROM sagemaker_training_job GROUP BY 1, 2" > "$work/stored.csv"
python3 - "$work/org.json" "$work/stored.csv" "$JOBS" "$REGIONS" "$s" "$kb" <<'PY'
import csv, json, sys
org = json.load(open(sys.argv[1])); jobs = int(sys.argv[3]); regions = sys.argv[4].split(",")
stored = {(r["account_id"], r["region"]): int(r["jobs"]) for r in csv.DictReader(open(sys.argv[2], newline=""))}
wrong = [(a, r) for a in org["members"] for r in regions if stored.get((a, r)) != jobs]
scopes = (len(org["members"]) + 1) * len(regions)
print(f"{len(org['members'])} member accounts x {len(regions)} regions ({scopes} scopes with the management account): "
      f"{float(sys.argv[5]):.1f}s, peak RSS {int(sys.argv[6]) // 1024} MB; "
      f"{'every account' if not wrong else f'{len(wrong)} account-regions NOT'} stored under its own account id")
sys.exit(1 if wrong else 0)
PY
