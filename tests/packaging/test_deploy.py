"""The container image's build steps, run without a container tool, and the compose file.

No image can be built here, so the Dockerfile's install step (deploy/install.sh, called by
its RUN line) runs as written in a fresh virtual environment, on a copy of the clone filtered
by .dockerignore as Docker would send it. The installed command, the image's health check
against a real bot's listener, and deploy/bot.yaml with the environment compose.yaml gives it
are then checked there. Slow (a virtual environment and every extra): deselect with
``-m "not packaging"``.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from tests.packaging.conftest import (
    ROOT,
    Venv,
    loopback_environment,
    new_venv,
    pip_environment,
)
from tests.support import free_port

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.xdist_group("packaging"),
    # The first test also waits for the environment to be built.
    pytest.mark.timeout(600),
]

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "deploy" / "compose.yaml"
BOT_CONFIG = ROOT / "deploy" / "bot.yaml"
# Where the Dockerfile mounts the build context for its install step.
CONTEXT_MOUNT = "/src"
BOT_SERVICES = ("bot-1", "bot-2")


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def only(dockerfile: Path, name: str) -> str:
    matches = [rest for word, rest in instructions(dockerfile) if word == name]
    assert len(matches) == 1, f"expected one {name} in {dockerfile.name}, found {matches}"
    return matches[0]


def exec_form(arguments: str) -> list[str]:
    """A JSON-array instruction's words (exec form: no shell between Docker and the program)."""
    words = json.loads(arguments)
    assert isinstance(words, list), arguments
    assert all(isinstance(word, str) for word in words), arguments
    return words


def install_step(dockerfile: Path) -> list[str]:
    """The words of the RUN line that calls deploy/install.sh, without its --mount flags."""
    steps = [rest for word, rest in instructions(dockerfile) if word == "RUN"]
    calls = [shlex.split(rest) for rest in steps if "deploy/install.sh" in rest]
    assert len(calls) == 1, f"expected one RUN calling deploy/install.sh, found {calls}"
    return [word for word in calls[0] if not word.startswith("--")]


def ignored(relative: PurePosixPath, patterns: list[str]) -> bool:
    """Whether .dockerignore's ``patterns`` leave ``relative`` (or a folder above it) out.

    Only the forms .dockerignore uses are understood: a path from the context's root, and
    ``**/`` for any depth; the test refuses others rather than guess.
    """
    for pattern in patterns:
        assert not pattern.startswith("!"), f"exceptions are not understood: {pattern}"
        anywhere = pattern.startswith("**/")
        body = pattern.removeprefix("**/")
        assert "**" not in body, f"only a leading **/ is understood: {pattern}"
        for depth in range(1, len(relative.parts) + 1):
            head = relative.parts[:depth]
            if fnmatch.fnmatchcase(head[-1] if anywhere else "/".join(head), body):
                return True
    return False


def ignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def build_context(target: Path) -> Path:
    """A copy of the clone holding what Docker would send as the build context."""
    patterns = ignore_patterns()

    def skip(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(ROOT)
        return {n for n in names if ignored(PurePosixPath(*relative.parts, n), patterns)}

    shutil.copytree(ROOT, target, symlinks=True, ignore=skip)
    return target


@dataclass(frozen=True)
class Image:
    """What the image's install step left in a fresh environment."""

    venv: Venv
    context: Path

    def command(self, words: list[str]) -> list[str | Path]:
        # The image finds its commands on PATH; here they are in the environment's bin/.
        return [self.venv.command(words[0]), *words[1:]]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    base = tmp_path_factory.mktemp("image")
    venv = new_venv(base / "venv")
    context = build_context(base / "context")
    step = [str(context) if word == CONTEXT_MOUNT else word for word in install_step(DOCKERFILE)]
    step = [word.replace(f"{CONTEXT_MOUNT}/", f"{context}/") for word in step]
    venv.run(step, env={**pip_environment(), "PYTHON": str(venv.python)}, timeout=600)
    yield Image(venv=venv, context=context)
    shutil.rmtree(base, ignore_errors=True)


def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    """The service's environment, with each value compose takes from the operator's shell
    (``${NAME:?...}``, ``${NAME:-}``) replaced by a stand-in of the right shape."""
    stand_ins = {"SLACK_BOT_TOKEN": "xoxb-1-2-stand-in", "SLACK_APP_TOKEN": "xapp-1-A1-stand-in"}
    env = {}
    for name, value in service["environment"].items():
        text = str(value)
        if "${" in text:
            text = stand_ins.get(name, "" if ":-}" in text else f"stand-in-{name.lower()}")
        env[name] = text
    return env


def test_the_image_is_slim_python_311_and_runs_as_a_non_root_user() -> None:
    assert only(DOCKERFILE, "FROM") == "python:3.11-slim"
    user = only(DOCKERFILE, "USER").split(":")[0]
    assert user not in ("root", "0")
    words = [word for word, _ in instructions(DOCKERFILE)]
    # Installing happens as root, before the switch; nothing runs as root after it.
    assert words.index("USER") > max(i for i, word in enumerate(words) if word == "RUN")


def test_the_build_context_leaves_out_local_state_and_secrets() -> None:
    patterns = ignore_patterns()
    for path in (".git", ".venv", "config.yaml", "knowrithm-bots.sqlite", "deploy/.env"):
        assert ignored(PurePosixPath(path), patterns), f"{path} would be sent to the build"
    for path in ("pyproject.toml", "README.md", "core/adapter.py", "deploy/install.sh"):
        assert not ignored(PurePosixPath(path), patterns), f"{path} would be left out"


def test_the_install_step_installs_the_command_with_every_extra(image: Image) -> None:
    entrypoint = exec_form(only(DOCKERFILE, "ENTRYPOINT"))
    assert entrypoint == ["knowrithm-bots"]
    shown = image.venv.run(image.command([*entrypoint, "--version"]))
    assert shown.stdout.strip() == "knowrithm-bots 0.1.0"
    # The `all` extra: every platform library, the Redis client and prometheus-client.
    probe = "import telegram, slack_bolt, discord, redis.asyncio, prometheus_client"
    image.venv.run([image.venv.python, "-c", probe])
    listed = image.venv.run(image.command(["knowrithm-bots", "adapters"]))
    for adapter in ("console", "telegram", "slack", "discord"):
        assert re.search(rf"^{adapter}\s", listed.stdout, re.MULTILINE), listed.stdout


def test_the_compose_file_runs_two_bots_of_one_image_and_one_redis() -> None:
    services = compose()["services"]
    assert set(services) == {*BOT_SERVICES, "redis"}
    images = {services[name]["image"] for name in BOT_SERVICES}
    assert len(images) == 1, images
    assert services["redis"]["image"].startswith("redis:")
    for name in BOT_SERVICES:
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "Dockerfile"}
        assert "redis" in service["depends_on"]
        assert compose_environment(service)["REDIS_URL"].startswith("redis://redis:")
        assert compose_environment(service)["KNOWRITHM_BOTS_LISTEN"]
    published = [services[name]["ports"][0].rsplit(":", 2)[1] for name in BOT_SERVICES]
    assert len(set(published)) == len(published), f"both bots publish {published}"


def test_each_command_reads_the_config_the_health_check_reads() -> None:
    variables = dict(
        part.split("=", 1) for part in shlex.split(only(DOCKERFILE, "ENV")) if "=" in part
    )
    config = variables["KNOWRITHM_BOTS_CONFIG"]
    commands = [exec_form(only(DOCKERFILE, "CMD"))]
    services = compose()["services"]
    commands += [services[name]["command"] for name in BOT_SERVICES]
    for command in commands:
        assert command[0] == "run"
        assert command[command.index("--config") + 1] == config, command
    for name in BOT_SERVICES:
        mounted = [v.split(":")[1] for v in services[name]["volumes"] if "bot.yaml" in v]
        assert mounted == [config]


def test_the_example_config_validates_with_the_environment_compose_gives(image: Image) -> None:
    service = compose()["services"]["bot-1"]
    env = {**loopback_environment(), **compose_environment(service)}
    checked = image.venv.run(
        image.command(["knowrithm-bots", "check-config", "--config", str(BOT_CONFIG)]), env=env
    )
    assert "is valid" in checked.stdout
    # Every variable the config needs without a default comes from compose.
    del env["REDIS_URL"]
    missing = image.venv.run(
        image.command(["knowrithm-bots", "check-config", "--config", str(BOT_CONFIG)]),
        env=env,
        check=False,
    )
    assert missing.returncode == 2
    assert "REDIS_URL" in missing.stderr + missing.stdout
    assert "Traceback" not in missing.stderr


def _write_config(path: Path, *, listen: str) -> Path:
    path.write_text(
        "knowrithm: {base_url: local}\n"
        "store: {backend: memory}\n"
        f"observability: {{listen: '{listen}'}}\n",
        encoding="utf-8",
    )
    return path


def test_the_health_check_asks_the_running_bots_listener(image: Image, tmp_path: Path) -> None:
    check = image.command(exec_form(only(DOCKERFILE, "HEALTHCHECK").split(" CMD ", 1)[1]))
    port = free_port()
    # Bound on every interface, as in the container: the check asks loopback.
    config = _write_config(tmp_path / "bot.yaml", listen=f":{port}")
    env = {**loopback_environment(), "KNOWRITHM_BOTS_CONFIG": str(config)}

    down = image.venv.run(check, env=env, check=False)
    assert down.returncode == 1
    # One sentence with the reason (its words are the system's: errno texts differ).
    assert re.fullmatch(
        rf"unhealthy: http://127\.0\.0\.1:{port}/healthz does not answer \(.*refused.*\)",
        down.stderr.strip(),
    ), down.stderr

    log = (tmp_path / "bot.log").open("w")
    bot = subprocess.Popen(
        [str(image.venv.command("knowrithm-bots")), "run", "console", "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            up = image.venv.run(check, env=env, check=False)
            if up.returncode == 0 or time.monotonic() > deadline or bot.poll() is not None:
                break
            time.sleep(0.2)
        assert up.returncode == 0, (tmp_path / "bot.log").read_text() + up.stderr
        assert up.stdout.strip() == f"healthy: http://127.0.0.1:{port}/healthz answered 200"
    finally:
        bot.terminate()
        bot.wait(timeout=20)
        log.close()

    unset = _write_config(tmp_path / "quiet.yaml", listen="")
    quiet = image.venv.run(check, env={**env, "KNOWRITHM_BOTS_CONFIG": str(unset)})
    assert "observability.listen is not set" in quiet.stdout

    broken = image.venv.run(
        check, env={**env, "KNOWRITHM_BOTS_CONFIG": str(tmp_path / "absent.yaml")}, check=False
    )
    assert broken.returncode == 1
    assert (
        broken.stderr.strip() == f"unhealthy: config file {tmp_path / 'absent.yaml'} does not exist"
    )
