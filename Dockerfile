# syntax=docker/dockerfile:1
# knowrithm-bots with every platform, the Redis store and /metrics, run as a non-root user.
#   docker build -t knowrithm-bots .
#   docker run -v ./bot.yaml:/config/bot.yaml:ro -e ... knowrithm-bots run slack --config /config/bot.yaml
# deploy/compose.yaml runs two instances sharing one Redis.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    KNOWRITHM_BOTS_CONFIG=/config/bot.yaml

# The steps are in deploy/install.sh so that CI, which cannot build images, runs the same
# ones (tests/packaging/test_deploy.py). The checkout is mounted, not copied: no layer keeps it.
RUN --mount=type=bind,source=.,target=/src,rw sh /src/deploy/install.sh /src

# A fixed numeric id, so orchestrators that require a non-root user can verify it.
RUN groupadd --system --gid 10001 knowrithm \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/knowrithm \
       --shell /usr/sbin/nologin knowrithm
USER 10001:10001
WORKDIR /home/knowrithm

# observability.listen, when the config sets it to :9464 (deploy/bot.yaml does).
EXPOSE 9464

# Asks the listener's /healthz when observability.listen is set in $KNOWRITHM_BOTS_CONFIG;
# without it, the check passes while the process runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["knowrithm-bots-healthcheck"]

ENTRYPOINT ["knowrithm-bots"]
# `run` needs the adapters named; override the command for others (run telegram discord ...)
# and keep --config equal to KNOWRITHM_BOTS_CONFIG, which the health check reads.
CMD ["run", "slack", "--config", "/config/bot.yaml"]
