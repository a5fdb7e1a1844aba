"""knowrithm-py 0.1.4, the release whose calls the seed guide teaches, against the local server.

0.1.4 is installed once per session into a directory of its own (the dev extra pins 0.1.22)
and run in a separate interpreter with that directory first on sys.path. pip reaches the
package index for it; everything else stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm

RELEASE = "0.1.4"
ORACLE = Path(__file__).with_name("sdk014_oracle.py")
# pip may need the machine's proxy settings to reach the index; the suite's autouse fixture
# removes them from each test's environment, so take them as the suite starts.
_STARTING_ENVIRONMENT = dict(os.environ)
_PIP_TIMEOUT = 300
_RUN_TIMEOUT = 60

pytestmark = [pytest.mark.knowrithm_modes, pytest.mark.timeout(_PIP_TIMEOUT + _RUN_TIMEOUT)]


def _installed(target: Path) -> bool:
    return (target / f"knowrithm_py-{RELEASE}.dist-info").is_dir()


def _install(target: Path) -> None:
    """Install 0.1.4 into *target*; the caller holds the install lock."""
    # Installed beside the target and renamed into place, so an interrupted install is never
    # taken for a finished one by a later run.
    partial = target.with_name(f"site.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    env = {k: v for k, v in _STARTING_ENVIRONMENT.items() if k not in ("PYTHONPATH", "PIP_USER")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(partial)]
    result = subprocess.run(
        [*command, f"knowrithm-py=={RELEASE}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=_PIP_TIMEOUT,
        check=False,
    )
    if result.returncode != 0 or not _installed(partial):
        pytest.fail(
            f"Could not install knowrithm-py {RELEASE} from the package index (pip exited"
            f" {result.returncode}):\n{result.stderr[-3000:]}",
            pytrace=False,
        )
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


@pytest.fixture(scope="session")
def sdk014(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding knowrithm-py 0.1.4 and its dependencies, installed once."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        target = Path(cache.mkdir("knowrithm-py-" + RELEASE)) / "site"
    else:
        target = tmp_path_factory.mktemp("knowrithm-py") / "site"
    if _installed(target):
        return target
    # pytest-xdist runs the parametrised cases on several workers at once: one installs while
    # the others wait on the lock, so no worker deletes a tree another is already running from.
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name("install.lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed(target):
            _install(target)
    return target


async def run_oracle(sdk: Path, server: LocalKnowrithm, results: Path) -> dict[str, Any]:
    """Run every 0.1.4 call in its own interpreter, while this loop goes on serving."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",  # no PYTHONPATH, no user site, no script directory: only what the oracle adds
        str(ORACLE),
        str(sdk),
        server.base_url,
        server.api_key,
        server.api_secret,
        server.agent_id,
        str(results),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    async with asyncio.timeout(_RUN_TIMEOUT):
        _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode(errors="replace")[-3000:]
    text = await asyncio.to_thread(results.read_text, encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


async def test_every_seed_guide_call_of_knowrithm_py_014_works(
    sdk014: Path, knowrithm: LocalKnowrithm, tmp_path: Path
) -> None:
    server = knowrithm
    out = await run_oracle(sdk014, server, tmp_path / "results.json")
    assert Path(out["sdk_file"]).is_relative_to(sdk014)

    # LeadService.create (POST /v1/lead)
    lead = out["lead"]["lead"]
    assert set(server.state.leads) == {lead["id"]}
    assert server.state.leads[lead["id"]].email == "ada@leads.example-company.com"

    # ConversationService.create, both entity types
    user = server.state.conversations[out["user_conversation"]["conversation"]["id"]]
    assert (user.entity_type, user.lead_id) == ("user", None)
    cid = out["lead_conversation"]["conversation"]["id"]
    conversation = server.state.conversations[cid]
    assert (conversation.entity_type, conversation.entity_id) == ("lead", lead["id"])
    assert conversation.lead_id == lead["id"]
    assert conversation.title == "seed guide"

    # get, update (PUT)
    got = out["got"]["conversation"]
    assert (got["id"], got["entity_type"], got["entity_id"]) == (cid, "lead", lead["id"])
    assert out["updated"]["conversation"]["metadata"] == {
        "source": "knowrithm-py 0.1.4",
        "ticket": "T-1",
    }
    assert server.state.metadata_updates == [(cid, {"ticket": "T-1"})]

    # MessageService.send_message ({content, role}) and list_messages
    assert out["sent"]["status"] == "queued"
    assert server.state.chat_requests == [(cid, "Hello from the seed guide")]
    listed = out["listed"]["messages"]
    assert [m["role"] for m in listed] == ["user", "assistant"]
    answer_id = listed[1]["id"]
    assert listed[1]["content"].startswith('You asked: "Hello from the seed guide"')

    # rate_message (POST /v1/messages/{id}/rate): visible on the message afterwards
    assert out["rated"]["success"] is True
    assert out["listed_after"]["messages"][1]["rating"] == 5
    (rating,) = server.state.ratings
    assert (rating.message_id, rating.rating, rating.feedback) == (answer_id, 5, "spot on")

    # end_conversation(satisfaction_rating=4)
    ended = out["ended"]["conversation"]
    assert (ended["status"], ended["rating"]) == ("ended", 4)
    assert (out["got_after"]["conversation"]["status"], conversation.rating) == ("ended", 4)

    # AnalyticsService.get_conversation_analytics
    analytics = out["analytics"]
    assert analytics["message_statistics"]["total_messages"] == 2
    assert analytics["quality_metrics"]["satisfaction_rating"] == 4
