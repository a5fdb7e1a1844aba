#!/bin/sh
# The install steps of the container image, kept out of the Dockerfile so that CI can run
# them without a container tool (tests/packaging/test_deploy.py runs this file as the
# Dockerfile calls it, in a fresh virtual environment).
#
# Usage: install.sh SOURCE_DIR
#   SOURCE_DIR  a checkout of knowrithm-bots (the Docker build context)
#   PYTHON      the interpreter to install into (default: python3)
set -eu

source_dir=${1:?usage: install.sh SOURCE_DIR}
python=${PYTHON:-python3}

# Every platform, the Redis store and /metrics: one image serves any deployment. No pip
# cache: it would only make the image larger.
"$python" -m pip install --no-cache-dir "${source_dir}[all]"

# The health check goes next to the knowrithm-bots command, bound to the same interpreter.
scripts=$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
interpreter=$("$python" -c 'import sys; print(sys.executable)')
check="$scripts/knowrithm-bots-healthcheck"
{
    printf '#!%s\n' "$interpreter"
    tail -n +2 "$source_dir/deploy/healthcheck.py"
} >"$check"
chmod 0755 "$check"

# A broken install fails the build here rather than at the first start.
"$scripts/knowrithm-bots" --version
