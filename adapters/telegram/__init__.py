"""Telegram adapter (python-telegram-bot 22): ``knowrithm-bots run telegram --config FILE``.

What users see:

- **Conversations.** A private chat is one Knowrithm conversation until ``/new``, ``/end``
  or the idle timeout. A forum topic is one conversation per topic (its General topic
  counts as the group). A plain group is one conversation for the whole group: Telegram
  shows plain groups as one timeline, and a group key needs no memory of reply chains, so
  it survives restarts; ``/new`` there starts afresh for everybody. Thread keys are
  ``telegram:<bot id>:<chat id>[:<topic id>]``, so two bots never share a conversation.
- **Who is answered.** Private chats: every message. Groups (``group_mode: mentions``, the
  default): messages that mention ``@botname``, replies to the bot's messages, and
  ``/new``, ``/end``, ``/help`` (bare or ``@botname``). ``group_mode: all`` answers every
  text message in the group (turn the bot's privacy mode off in BotFather for that).
  Messages of other bots (and the bot's own) are never answered; commands addressed to
  another ``@bot`` are ignored. The ``@botname`` mention is removed before the text goes to
  the agent.
- **Answers.** In private chats the answer streams as an animated draft and then arrives
  as one message; in groups it is a reply to the asker's message (in the asker's topic)
  that grows by edits. Answers longer than 4,096 UTF-16 units continue in further
  messages. Formatting is Telegram HTML; if Telegram refuses it, the same words are sent
  as plain text. "Typing…" shows until the first words appear.
- **Ratings.** A 👍 / 👎 (or any emoji in ``ratings.emoji``) reaction on an answer rates
  it; changing 👍 to 👎 re-rates. In groups Telegram only reports reactions to bots that
  are administrators of the group.
- **Unusual input.** A sticker, photo without caption or other message without text gets
  "Your message has no text…" in a private chat (in groups: only when it replies to the
  bot). A message longer than ``conversations.max_input_chars`` gets a sentence asking to
  shorten it. An edited message is not passed to the agent; in a private chat the bot says
  so (``edited_notice``, null to stay silent). A chat or user outside ``allowed_chats`` /
  ``allowed_users`` gets ``not_allowed_notice`` when it addresses the bot (null to stay
  silent) and never reaches the agent. A webhook request with a wrong secret is refused
  with 403 and an update delivered twice is answered once.
- **Leads.** People get ``Author.first_name`` / ``last_name`` from their profile and an
  email ``<username>@telegram.invalid`` (or the core's ``telegram-<id>@telegram.invalid``
  without a username), so ``conversations.entity_rules`` can start LEAD conversations.
"""

from knowrithm_bots.adapters.telegram.adapter import ALLOWED_UPDATES, TelegramAdapter
from knowrithm_bots.adapters.telegram.config import TelegramConfig

__all__ = ["ALLOWED_UPDATES", "TelegramAdapter", "TelegramConfig"]
