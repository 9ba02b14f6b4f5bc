#!/usr/bin/env bash
# Install size of `make install` (no torch) and `make install-train` (+ the train extra), each in a fresh venv
# under /tmp, with wall time. Writes bench/results/install_size.json. Not part of `make bench` (it installs
# packages and takes minutes); run it by hand: bash bench/install_size.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results/install_size.json
base=$(mktemp -d /tmp/refcodec-install-XXXXXX)
trap 'rm -rf "$base"' EXIT
t0=$(date +%s)
make -s install VENV="$base/small" >/dev/null
t1=$(date +%s)
small=$(du -sk "$base/small" | cut -f1)
make -s install-train VENV="$base/small" >/dev/null
t2=$(date +%s)
train=$(du -sk "$base/small" | cut -f1)
python3 - "$out" "$small" "$train" "$((t1 - t0))" "$((t2 - t1))" <<'PY'
import json, sys
out, small, train, ts, tt = sys.argv[1:]
res = {"command": "bash bench/install_size.sh",
       "make_install_MiB": round(int(small) / 1024, 1), "make_install_s": int(ts),
       "make_install_train_MiB": round(int(train) / 1024, 1), "install_train_extra_s": int(tt),
       "ratio_train_to_install": round(int(train) / int(small), 2),
       "note": "du -sk of a fresh venv; times include pip resolving from this machine's local wheel mirror"}
json.dump(res, open(out, "w"), indent=1)
print(json.dumps(res, indent=1))
PY
