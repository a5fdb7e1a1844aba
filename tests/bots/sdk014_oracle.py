"""Runs every knowrithm-py 0.1.4 call the seed guide teaches against one Knowrithm server.

Run in its own interpreter (``python -I``) by test_local_knowrithm_sdk014.py:
``sdk014_oracle.py SDK_DIR BASE_URL API_KEY API_SECRET AGENT_ID RESULTS_JSON``. SDK_DIR goes
first on sys.path, so the 0.1.4 release installed there is the one imported, never the one
the dev extra pins. Each call's answer is written to RESULTS_JSON under the call's name; the
SDK's own prints go to stdout, which the test ignores.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

SDK_DIR, BASE_URL, API_KEY, API_SECRET, AGENT_ID, RESULTS = sys.argv[1:7]
sys.path.insert(0, SDK_DIR)

from knowrithm_py.dataclass.config import KnowrithmConfig  # noqa: E402
from knowrithm_py.knowrithm.client import KnowrithmClient  # noqa: E402
from knowrithm_py.models.conversation import EntityType  # noqa: E402
from knowrithm_py.services.conversation import ConversationService, MessageService  # noqa: E402
from knowrithm_py.services.dashboard import AnalyticsService  # noqa: E402
from knowrithm_py.services.lead import LeadService  # noqa: E402

REPLY_WAIT = 10.0


def main() -> dict[str, Any]:
    import knowrithm_py

    results: dict[str, Any] = {"sdk_file": knowrithm_py.__file__}
    config = KnowrithmConfig(base_url=BASE_URL, max_retries=1, timeout=10)
    client = KnowrithmClient(API_KEY, API_SECRET, config=config)
    leads = LeadService(client)
    conversations = ConversationService(client)
    messages = MessageService(client)

    results["lead"] = leads.create(
        {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@leads.example-company.com"}
    )
    lead_id = results["lead"]["lead"]["id"]
    results["user_conversation"] = conversations.create(AGENT_ID, entity_type=EntityType.USER)
    results["lead_conversation"] = conversations.create(
        AGENT_ID,
        entity_type=EntityType.LEAD,
        entity_id=lead_id,
        title="seed guide",
        metadata={"source": "knowrithm-py 0.1.4"},
    )
    cid = results["lead_conversation"]["conversation"]["id"]
    results["got"] = conversations.get(cid)
    results["updated"] = conversations.update(cid, {"metadata": {"ticket": "T-1"}})
    results["sent"] = messages.send_message(cid, "Hello from the seed guide")

    # send_message answers with the task; the reply is there once the history shows it.
    deadline = time.monotonic() + REPLY_WAIT
    while True:
        listed = messages.list_messages(cid)
        if len(listed["messages"]) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    results["listed"] = listed
    answer = next(m for m in listed["messages"] if m["role"] == "assistant")
    results["rated"] = messages.rate_message(answer["id"], 5, "spot on")
    results["ended"] = conversations.end_conversation(cid, satisfaction_rating=4)
    results["analytics"] = AnalyticsService(client).get_conversation_analytics(cid)
    results["listed_after"] = messages.list_messages(cid)
    results["got_after"] = conversations.get(cid)
    return results


if __name__ == "__main__":
    Path(RESULTS).write_text(json.dumps(main()), encoding="utf-8")
