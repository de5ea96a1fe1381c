#!/usr/bin/env bash
# The dashboard front end's checks (query-api/assets): installs the pinned tools (npm ci, only
# when package-lock.json changed), then
#   1. types/api.d.ts is what openapi-typescript makes of ../openapi.json (the committed spec),
#   2. eslint (eslint.config.js),
#   3. tsc --noEmit with checkJs (tsconfig.json),
#   4. the type check can fail: a field of the spec renamed in a scratch copy makes tsc fail.
# Set SALESBOT_NODE_DIR to keep node_modules outside the tree (CI keeps it in /var/tmp).
set -euo pipefail
cd "$(dirname "$0")"

stamp="$(sha256sum package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ -n "${SALESBOT_NODE_DIR:-}" ]; then
  modules="$SALESBOT_NODE_DIR/node_modules"
  if [ "$(cat "$SALESBOT_NODE_DIR/stamp" 2>/dev/null)" != "$stamp" ] || [ ! -d "$modules" ]; then
    echo "check: npm ci in $SALESBOT_NODE_DIR"
    mkdir -p "$SALESBOT_NODE_DIR"
    cp package.json package-lock.json "$SALESBOT_NODE_DIR/"
    (cd "$SALESBOT_NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$stamp" > "$SALESBOT_NODE_DIR/stamp"
  fi
  if [ -e node_modules ] && [ ! -L node_modules ]; then
    echo "check: node_modules is a folder here; remove it to use $modules" >&2
    exit 1
  fi
  ln -sfn "$modules" node_modules
elif [ "$(cat node_modules/.salesbot-stamp 2>/dev/null)" != "$stamp" ]; then
  echo "check: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$stamp" > node_modules/.salesbot-stamp
fi
bin=node_modules/.bin

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

echo "check: types/api.d.ts is fresh"
"$bin/openapi-typescript" ../openapi.json -o "$scratch/api.d.ts" >/dev/null
if ! diff -u types/api.d.ts "$scratch/api.d.ts" > "$scratch/diff"; then
  head -40 "$scratch/diff" >&2
  echo "check: types/api.d.ts is stale; run: (cd query-api/assets && npm run types)" >&2
  exit 1
fi

echo "check: eslint"
"$bin/eslint" --max-warnings 0 .

echo "check: tsc"
"$bin/tsc" -p tsconfig.json

echo "check: a renamed field fails tsc"
# UserSummary.engagement_score is read by the users table and the profile; rename it in a
# scratch copy of the spec and type-check a scratch copy of the modules against the result.
mkdir -p "$scratch/tree"
cp -r dashboard.js js vendor types tsconfig.json "$scratch/tree/"
ln -s "$PWD/node_modules" "$scratch/tree/node_modules"
node -e '
  const fs = require("fs");
  const spec = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const user = spec.components.schemas.UserSummary;
  user.properties.engagement = user.properties.engagement_score;
  delete user.properties.engagement_score;
  user.required = user.required.map((f) => (f === "engagement_score" ? "engagement" : f));
  fs.writeFileSync(process.argv[2], JSON.stringify(spec));
' ../openapi.json "$scratch/renamed.json"
"$bin/openapi-typescript" "$scratch/renamed.json" -o "$scratch/tree/types/api.d.ts" >/dev/null
if "$bin/tsc" -p "$scratch/tree/tsconfig.json" > "$scratch/tsc.out" 2>&1; then
  echo "check: tsc passed against a spec without engagement_score; the JS is not typed by the spec" >&2
  exit 1
fi
if ! grep -q "engagement_score" "$scratch/tsc.out"; then
  cat "$scratch/tsc.out" >&2
  echo "check: tsc failed, but not on the renamed field" >&2
  exit 1
fi
grep "engagement_score" "$scratch/tsc.out" | sed 's/^/  as expected: /'
echo "check: front end OK"
