"""Slack adapter: the agent answers in Slack threads, streaming natively where it can.

Modes: ``mode: socket`` (default) connects out with the app-level token (``app_token``,
scope ``connections:write``), no public URL needed; ``mode: http`` serves the Events API at
``http://<host>:<port><path>`` (default ``0.0.0.0:3000/slack/events``) and verifies every
request with ``signing_secret`` (bad or stale signatures get 401).

Where it answers: in channels, a message that mentions the bot is answered in a thread
under it (``channel_messages: all`` answers every message instead); once the bot is in a
thread, replies there need no mention (remembered in memory: after a restart, mention it
again). ``allowed_channels`` (ids or names) limits the channels; elsewhere the bot stays
silent. DMs (``direct_messages``): ``thread`` (default) makes each top-level DM a new
conversation answered in its thread; ``channel`` makes the whole DM one conversation
answered top-level (post + edit, no native stream); ``off`` ignores DMs.

Conversations: thread key ``slack:<team>:<bot user>:<channel>:<thread root ts>`` (DM
channel mode: empty ts), so several workspaces of an org-wide install, or two apps sharing
a store, never mix. People whose team differs from the workspace's (Slack Connect) are
``Author.external``; names and e-mail come from users.info (e-mail needs
``users:read.email``).

Answers: Slack's chat streams (chat.startStream / appendStream / stopStream, with the
asker as recipient in channels), falling back to chat.postMessage + chat.update (mrkdwn)
when Slack refuses streaming (then for 10 minutes in that workspace), when a stream expires
mid-answer (the streamed message is edited to the full text), or beyond 12,000 characters
(the answer rolls over into further messages). While waiting, the thread shows the
assistant status ``thinking_status`` where Slack allows it. 429s on the calls that show an
answer (chat.postMessage, chat.update, chat.delete, chat.*Stream) go to the reply engine,
which shares Slack's budgets among all replies, backs off and then sends only the newest
text; slack-sdk's retry handler retries every other call (users.info, statuses ...).

Reactions: reaction_added / reaction_removed on the bot's answers become ratings (Slack
names such as ``+1``, ``-1``, ``one`` … ``five``; skin tones ignored).

Hygiene: a message is identified by team + channel + ts, so Slack's retries and the
app_mention + message pair for one message cause one answer. Messages from bots (ours
included), edits (``message_changed``: not answered again) and deletions are ignored; a
message with only a file is answered with a request to write it out in words; over-long
messages get the bridge's "too long" notice. Events are acknowledged at once and handled
afterwards. Tokens and the signing secret never appear in logs or errors.

Scopes: app_mentions:read, chat:write, channels:history, groups:history, im:history,
mpim:history, channels:read, groups:read, mpim:read (``conversations.info``: channel names
for ``allowed_channels`` and rules by name), reactions:read, users:read, users:read.email
(optional),
assistant:write (optional, for the status); events: app_mention, message.channels,
message.groups, message.im, message.mpim, reaction_added, reaction_removed.
"""

from knowrithm_bots.adapters.slack.adapter import SlackAdapter
from knowrithm_bots.adapters.slack.config import SlackConfig

__all__ = ["SlackAdapter", "SlackConfig"]
