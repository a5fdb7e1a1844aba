"""Discord adapter (discord.py 2.x): threads from mentions, DMs, streamed answers, 👍 ratings.

Config (``adapters.discord``)::

    token: ${DISCORD_BOT_TOKEN}          # required; never logged
    api_base_url: https://discord.com/api/v10   # REST base incl. version (tests: emulator)
    gateway_url: wss://gateway.discord.gg/      # gateway WebSocket
    message_content_intent: false        # privileged; see "Reading messages"
    allowed_guilds: [123, ...]           # omit = every guild the bot is in
    allowed_channels: [456, ...]         # text channels (their threads follow); omit = all
    direct_messages: true                # answer DMs
    thread_auto_archive_minutes: 1440    # 60, 1440, 4320 or 10080
    guild_ready_timeout: 2.0             # seconds discord.py waits for GUILD_CREATEs
    connect_timeout: 30.0                # start() fails if the gateway is not ready by then
    max_rate_limit_wait: 30.0            # 429 waits longer than this reach the engine (>= 30)
    membership_cache_seconds: 600        # how long "shares a guild" answers are kept

discord.py reads its REST base and gateway URL from class attributes, so the adapter sets
them process-wide at ``start()``: one process serves one Discord endpoint (a second adapter
with other URLs in the same process is refused with a ConfigError).

Where conversations live (thread keys ``discord:<application id>:<kind>:<channel id>``):

- A mention of the bot in a text channel starts a public Discord thread from that message
  (named after the question) and the conversation lives there; every later message in a
  thread the bot started continues it, as does a mention in any other thread.
- A DM channel is one conversation until ``/new``, ``/end`` or idle expiry.
- A mention in a text channel with no question (``@bot`` alone, ``@bot /help``) is
  answered in the channel itself and starts no thread.

Commands are text commands, handled by the core: ``/new``, ``/end [1-5] [feedback]``,
``/help``, typed in a DM or a thread (with the intent off, in threads: ``@bot /end 4``).
Slash commands were left out: they need registration, interaction acks within 3 s and a
second code path, while text commands work everywhere the bot can read.

Reading messages: without the privileged message-content intent Discord blanks the text of
guild messages that do not mention the bot. Then the bot answers mentions and DMs only; a
blanked message in one of its threads gets a one-time hint ("start yours with @bot").
With the intent on, every message in the bot's threads is read. Messages from the bot
itself, other bots and webhooks are ignored; so are guilds and channels not on the allow
lists (silently: no thread, no answer). An attachment-only message reaches the agent as
empty text and the core answers that it has no text to pass on (attachments are not sent).

Answers are posted as plain message content (not embeds: content is what notifications,
search and copy show, and code blocks render fully there) and edited as the agent writes,
about once a second; past 2,000 characters (counted in UTF-16 units, never fewer than
Discord counts) the answer rolls over into a new message. Markdown is adapted with
``core.markup.to_discord_markdown``; mentions in answers never ping anyone. Typing is shown
until the first text appears.

Rate limits: discord.py paces itself from Discord's X-RateLimit headers and sleeps and
retries a 429 itself; the reply engine sees that only as a slower call and sends the newest
text next, so nothing is lost. A 429 asking for more than ``max_rate_limit_wait`` seconds,
or one discord.py gave up on, reaches the engine as ``PlatformRateLimited(retry_after)``.

Ratings: reactions 👍 👎 1️⃣–5️⃣ (the ``ratings.emoji`` table) added to the bot's answers rate
the Knowrithm message; removing one leaves the rating as it is; custom emoji are ignored.

Leads: a DM from someone who shares none of the configured guilds (``allowed_guilds``, or
every guild the bot is in) is marked external, so the rule
``{entity_type: LEAD, adapters: [discord], external: true}`` starts a LEAD conversation.
Membership is asked over REST (``GET /guilds/{id}/members/{user}``) and cached.

Permissions the bot needs in its channels: View Channel, Send Messages, Send Messages in
Threads, Create Public Threads, Read Message History (reactions need no extra permission).
Intents: Guilds, Guild Messages, Guild Message Reactions, Direct Messages, Direct Message
Reactions, and Message Content only when ``message_content_intent`` is true.
"""

from knowrithm_bots.adapters.discord.adapter import DiscordAdapter
from knowrithm_bots.adapters.discord.config import DiscordConfig

__all__ = ["DiscordAdapter", "DiscordConfig"]
