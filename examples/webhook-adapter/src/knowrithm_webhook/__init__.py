"""A knowrithm-bots adapter for any chat backend that speaks a small webhook + REST protocol.

Your website chat, help desk or in-house messenger becomes a Knowrithm-answered chat by
implementing two things (all JSON, UTF-8):

Events, sent by the backend to the bot: ``POST <public URL>`` (default
``http://<listen_host>:<listen_port>/events``) with the header
``X-Knowrithm-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with signing_secret>``::

    {"type": "message", "event_id": "e1", "conversation": "c42", "message_id": "m7",
     "text": "Hello", "sender": {"id": "u1", "name": "Ada", "is_bot": false,
     "external": false, "email": "ada@example.com", "first_name": "Ada", "last_name": "L"}}
    {"type": "reaction", "event_id": "e2", "conversation": "c42", "message_id": "m8",
     "emoji": "👍", "added": true, "sender": {"id": "u1"}}

The bot answers 200 ``{"ok": true}``, 401 for a bad signature, 400 (with ``error``) for a
malformed event. ``event_id`` must stay the same when the backend retries a delivery.
Messages whose sender is the bot itself (``bot_id``) or has ``is_bot: true`` are ignored.
Commands are plain text: ``/new``, ``/end 4 thanks``, ``/help``.

API, served by the backend and called with ``Authorization: Bearer <token>`` below ``api_url``:

- ``PUT /webhook {"url"}``: the bot announces where events go (at start, unless
  ``register_webhook: false``; ``public_url`` overrides the URL, e.g. behind a proxy).
- ``POST /conversations/{conversation}/messages {"text", "format": "markdown"}`` → ``{"id"}``.
- ``PATCH /conversations/{conversation}/messages/{id} {"text", "format"}`` → 200 (or 304 when
  the text is unchanged).
- ``POST /conversations/{conversation}/typing`` → 200/204.

Messages are at most 4000 characters (longer answers continue in a new message); edits of
one message come at most every 0.5 s. Errors: 429 with ``Retry-After`` (seconds) slows the
bot down, 401/403 means a wrong token, 404 a deleted message, 5xx an outage.

Config (``adapters.webhook``): ``api_url``, ``token``, ``signing_secret``, ``bot_id``
(required); ``listen_host`` (127.0.0.1), ``listen_port`` (8080; 0 picks one), ``path``
(/events), ``public_url``, ``register_webhook`` (true), ``timeout`` (10 s).
"""

from knowrithm_webhook.adapter import WebhookAdapter
from knowrithm_webhook.config import WebhookConfig

__all__ = ["WebhookAdapter", "WebhookConfig"]
