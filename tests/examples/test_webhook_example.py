"""The example third-party adapter: discovered once installed, and answering end to end."""

from __future__ import annotations

import asyncio
import email.utils
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from webhook_backend import BOT_ID, SIGNING_SECRET, TOKEN, ChatBackend, Fault
from webhook_harness import webhook_config

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.errors import ConfigError, PlatformRateLimited, PluginError
from knowrithm_bots.core.plugins import AdapterInfo, discover, load_adapter
from knowrithm_bots.core.retry_after import MAX_RETRY_AFTER
from knowrithm_bots.testing import EventRecorder
from tests.adapters.test_console import BIN
from tests.examples.conftest import Site, _forget_package
from tests.support import stored_replies

CLI = str(BIN / "knowrithm-bots")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def _row(listing: str, name: str) -> list[str] | None:
    rows = [line.split(None, 3) for line in listing.splitlines()]
    return next((row for row in rows if row and row[0] == name), None)


def test_the_example_is_discovered_only_once_installed(
    example_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_without = example_site.env()
    del env_without["PYTHONPATH"]
    assert "webhook" not in discover()
    with pytest.raises(PluginError, match="no adapter named 'webhook' is installed"):
        load_adapter("webhook")
    assert _row(_cli("adapters", env=env_without).stdout, "webhook") is None

    monkeypatch.syspath_prepend(str(example_site.path))  # installed
    try:
        assert discover()["webhook"] == [
            AdapterInfo(
                name="webhook",
                value="knowrithm_webhook:WebhookAdapter",
                distribution="knowrithm-bots-webhook",
                version="0.1.0",
            )
        ]
        cls = load_adapter("webhook")
        assert cls.__name__ == "WebhookAdapter"
        module_file = Path(str(sys.modules[cls.__module__].__file__))
        assert module_file.is_relative_to(example_site.path)  # the installed copy
        listed = _cli("adapters", env=example_site.env())
        assert listed.returncode == 0, listed.stderr
        assert _row(listed.stdout, "webhook") == [
            "webhook",
            "knowrithm-bots-webhook",
            "0.1.0",
            "edit, reactions, typing; max 4,000 chars",
        ]
    finally:
        monkeypatch.undo()  # uninstalled
        _forget_package()
    assert "webhook" not in discover()


def test_check_config_names_the_examples_missing_key(installed: Site, tmp_path: Path) -> None:
    config = tmp_path / "bot.yaml"
    config.write_text(
        "knowrithm: {base_url: local}\n"
        "knowrithm:\n  base_url: local\n"
        "adapters:\n  webhook:\n    api_url: http://127.0.0.1:9/api\n    token: t0k3n-value\n"
        "    bot_id: b\n",
        encoding="utf-8",
    )
    result = _cli("check-config", "--config", str(config), env=installed.env())
    assert result.returncode == 2
    assert "adapters.webhook.signing_secret is required" in result.stderr
    assert "t0k3n-value" not in result.stderr and "Traceback" not in result.stderr


async def test_unsigned_and_malformed_events_are_refused(installed: Site) -> None:
    async with ChatBackend() as backend:
        adapter = load_adapter("webhook").from_config(config=webhook_config(backend))
        recorder = EventRecorder()
        await adapter.start(sink=recorder)
        try:
            event = {"type": "message", "event_id": "e1", "conversation": "c", "text": "hi"}
            assert await backend.deliver(event, secret="wrong-secret") == 401
            assert await backend.deliver(event) == 400  # no sender, no message_id
            assert await backend.deliver({"type": "poll"}) == 400
            person = {"id": "u1", "name": "Ada"}
            ok = {**event, "message_id": "m1", "sender": person}
            assert await backend.deliver(ok) == 200
        finally:
            await adapter.stop()
        assert [m.text for m in recorder.messages] == ["hi"]
        assert recorder.messages[0].author.display_name == "Ada"


async def _until(condition: Callable[[], object], *, what: str, within: float = 20) -> None:
    try:
        async with asyncio.timeout(within):
            while True:
                if condition():
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(what) from None


def _answer(question: str, history: object) -> str:
    # Long enough to roll over into a second 4000-character message.
    sentence = f"About {question!r}: the shop opens at nine and closes at six. "
    return sentence * (5000 // len(sentence) + 1)


async def test_knowrithm_bots_run_answers_through_the_example(
    installed: Site, tmp_path: Path
) -> None:
    async with (
        LocalKnowrithm(agent=ScriptedAgent(_answer)) as knowrithm,
        ChatBackend() as backend,
    ):
        config = tmp_path / "bot.yaml"
        config.write_text(
            f"knowrithm:\n  base_url: {knowrithm.base_url}\n  api_key: {knowrithm.api_key}\n"
            f"  api_secret: {knowrithm.api_secret}\n  agent_id: {knowrithm.agent_id}\n"
            "store:\n  backend: memory\n"
            f"adapters:\n  webhook:\n    api_url: {backend.api_url}\n"
            "    token: ${WEBHOOK_TOKEN}\n    signing_secret: ${WEBHOOK_SIGNING_SECRET}\n"
            f"    bot_id: {BOT_ID}\n    listen_port: 0\n",
            encoding="utf-8",
        )
        env = installed.env() | {"WEBHOOK_TOKEN": TOKEN, "WEBHOOK_SIGNING_SECRET": SIGNING_SECRET}
        process = await asyncio.create_subprocess_exec(
            CLI,
            "run",
            "webhook",
            "--config",
            str(config),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            ready = asyncio.create_task(backend.registered.wait())
            exited = asyncio.create_task(process.wait())
            await asyncio.wait({ready, exited}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
            ready.cancel()
            exited.cancel()
            assert backend.registered.is_set(), "the bot never registered its webhook"

            await backend.say("c-1", "When do you open?")
            state = knowrithm.state

            def answered() -> bool:
                replies = stored_replies(knowrithm)
                return bool(replies) and "".join(backend.visible("c-1")) == replies[0].content

            await _until(answered, what="the answer never appeared in the chat")
            reply = stored_replies(knowrithm)[0]
            shown = backend.bot_messages("c-1")
            assert len(shown) == 2 and all(len(m.text) <= 4000 for m in shown)
            assert reply.content.startswith("About 'When do you open?'")

            await backend.react(shown[0], "👍")
            await _until(lambda: state.ratings, what="the reaction never became a rating")
            assert [(r.message_id, r.rating) for r in state.ratings] == [(reply.id, 5)]

            await backend.say("c-2", "/end")  # another thread, which has no conversation yet
            await _until(lambda: backend.visible("c-2"), what="/end in c-2 got no answer")
            assert "no conversation to end" in backend.visible("c-2")[0]
            await backend.say("c-1", "/end 4 quick answers")
            await _until(lambda: state.ends, what="/end never reached Knowrithm")
            assert [(e.rating, e.feedback) for e in state.ends] == [(4, "quick answers")]
            assert len(state.conversations) == 1
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(process.communicate(), 30)
        stderr = err.decode()
        assert process.returncode == 0, stderr
        assert TOKEN not in stderr and SIGNING_SECRET not in stderr
        assert "Traceback" not in stderr


async def test_a_busy_port_is_one_sentence_naming_the_key(installed: Site) -> None:
    async with ChatBackend() as backend:
        first = load_adapter("webhook").from_config(config=webhook_config(backend))
        await first.start(sink=EventRecorder())
        try:
            assert backend.webhook_url is not None
            port = int(backend.webhook_url.rsplit(":", 1)[1].split("/")[0])
            config = webhook_config(backend) | {"listen_port": port}
            second = load_adapter("webhook").from_config(config=config)
            with pytest.raises(ConfigError) as raised:
                await second.start(sink=EventRecorder())
            assert raised.value.key_path == "adapters.webhook.listen_port"
            assert f"cannot listen on 127.0.0.1:{port}" in str(raised.value)
            await second.stop()
        finally:
            await first.stop()


@pytest.mark.parametrize(
    ("header", "wait"),
    [("inf", 1.0), ("nan", 1.0), ("1e308", MAX_RETRY_AFTER), ("in two minutes", 120.0)],
)
async def test_a_429s_retry_after_is_only_obeyed_when_sane(
    installed: Site, header: str, wait: float
) -> None:
    from knowrithm_webhook.wire import thread_key

    if header == "in two minutes":
        header = email.utils.formatdate(time.time() + 120, usegmt=True)
    async with ChatBackend() as backend:
        adapter = load_adapter("webhook").from_config(config=webhook_config(backend))
        await adapter.start(sink=EventRecorder())
        try:
            fault = Fault(status=429, error="rate_limited", headers={"Retry-After": header})
            backend.faults["post"].append(fault)
            with pytest.raises(PlatformRateLimited) as limited:
                await adapter.post(thread=thread_key(bot_id=BOT_ID, conversation="c1"), text="hi")
        finally:
            await adapter.stop()
    # An HTTP date is read against the clock, so only that case allows a few seconds.
    assert limited.value.retry_after == pytest.approx(wait, abs=3 if wait == 120.0 else 0)
