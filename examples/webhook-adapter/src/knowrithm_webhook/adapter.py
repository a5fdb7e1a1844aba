"""``WebhookAdapter``: the receiver and the API client behind the core's adapter contract."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from knowrithm_bots.adapter import (
    Adapter,
    AdapterConfig,
    Budget,
    Capabilities,
    ConfigError,
    EventSink,
    Inbound,
    Limits,
    PlatformError,
    Posted,
    Reaction,
    ThreadKeyCodec,
)
from knowrithm_webhook.api import BackendApi
from knowrithm_webhook.config import WebhookConfig
from knowrithm_webhook.receiver import Receiver
from knowrithm_webhook.wire import NAME, WebhookThread, conversation_of


class WebhookAdapter(Adapter):
    """Any chat backend that POSTs signed events to the bot and serves a small REST API."""

    name: ClassVar[str] = NAME
    limits: ClassVar[Limits] = Limits(
        max_message_length=4000,
        edit_interval=0.5,
        budgets=(Budget(scope="chat", rate=2.0, per=1.0, burst=2),),
    )
    capabilities: ClassVar[Capabilities] = Capabilities(edit=True, reactions=True, typing=True)
    config_model: ClassVar[type[AdapterConfig] | None] = WebhookConfig
    thread_codec: ClassVar[type[ThreadKeyCodec] | None] = WebhookThread

    def __init__(self, *, config: WebhookConfig) -> None:
        self._config = config
        self._api = BackendApi(
            base_url=config.api_url, token=config.token.get_secret_value(), timeout=config.timeout
        )
        self._receiver: Receiver | None = None
        self._sink: EventSink | None = None

    @classmethod
    def from_config(cls, *, config: Mapping[str, Any]) -> WebhookAdapter:
        return cls(config=WebhookConfig.load(config, prefix=f"adapters.{NAME}"))

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self, *, sink: EventSink) -> None:
        if self._receiver is not None:
            return
        config = self._config
        self._sink = sink
        receiver = Receiver(
            path=config.path,
            secret=config.signing_secret.get_secret_value(),
            bot_id=config.bot_id,
            deliver=self._deliver,
        )
        await self._api.open()
        try:
            try:
                url = await receiver.start(host=config.listen_host, port=config.listen_port)
            except OSError as exc:
                raise ConfigError(
                    f"cannot listen on {config.listen_host}:{config.listen_port} ({exc.strerror}): "
                    "check adapters.webhook.listen_host and listen_port",
                    key_path="adapters.webhook.listen_port",
                ) from None
            if config.register_webhook:
                await self._api.register(url=config.public_url or url)
        except BaseException:
            await receiver.stop()
            await self._api.close()
            raise
        self._receiver = receiver

    async def stop(self) -> None:
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            await receiver.stop()
        await self._api.close()

    async def _deliver(self, event: Inbound | Reaction) -> None:
        assert self._sink is not None
        if isinstance(event, Inbound):
            await self._sink.on_message(event)
        else:
            await self._sink.on_reaction(event)

    # --- outbound ------------------------------------------------------------------------

    def _conversation(self, thread: str) -> str:
        conversation = conversation_of(bot_id=self._config.bot_id, thread=thread)
        if conversation is None:
            raise PlatformError(f"thread {thread!r} does not belong to this webhook bot")
        return conversation

    async def post(self, *, thread: str, text: str, reply_to: str | None = None) -> Posted:
        message_id = await self._api.post_message(
            conversation=self._conversation(thread), text=text
        )
        return Posted(id=message_id)

    async def edit(self, *, thread: str, message_id: str, text: str) -> None:
        await self._api.edit_message(
            conversation=self._conversation(thread), message_id=message_id, text=text
        )

    async def typing(self, *, thread: str) -> None:
        await self._api.typing(conversation=self._conversation(thread))

    def budget_keys(self, *, thread: str) -> Mapping[str, str]:
        conversation = conversation_of(bot_id=self._config.bot_id, thread=thread) or thread
        bot = self._config.bot_id
        return {"thread": thread, "chat": conversation, "workspace": bot, "bot": bot}
