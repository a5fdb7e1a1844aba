"""The emulators' side of native commands, spoken to over plain HTTP as the platforms document."""

from __future__ import annotations

import aiohttp

from tests.emulators.discord_api import DiscordEmulator
from tests.emulators.slack_api import SlackEmulator, ids


async def test_a_slack_response_url_takes_five_messages_then_refuses() -> None:
    async with SlackEmulator() as emu, aiohttp.ClientSession() as http:
        url = emu.response_urls.issue(
            base_url=emu.base_url, team=ids.TEAM_ID, channel=ids.CHANNEL_ID, user=ids.USER_ID
        )
        statuses = []
        for number in range(6):
            async with http.post(url, json={"text": f"answer {number}"}) as response:
                statuses.append(response.status)
                last = await response.text()
        async with http.post(url + "x", json={"text": "nobody's"}) as response:
            unknown = response.status
    assert statuses == [200] * 5 + [404]
    assert last == "used_url"
    assert unknown == 404
    assert [(r.text, r.response_type) for r in emu.command_responses][:2] == [
        ("answer 0", "ephemeral"),
        ("answer 1", "ephemeral"),
    ]


async def test_discord_refuses_commands_it_would_refuse_and_unknown_responses() -> None:
    async with DiscordEmulator() as emu, aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bot {emu.token}"}
        url = f"{emu.api_base}/applications/{emu.application_id}/commands"
        bad = [
            [{"name": "New Thing", "description": "spaces and capitals", "type": 1}],
            [{"name": "new", "description": "", "type": 1}],
            [{"name": "new", "description": "twice"}, {"name": "new", "description": "twice"}],
            [
                {
                    "name": "end",
                    "description": "optional before required",
                    "options": [
                        {"type": 3, "name": "a", "description": "a"},
                        {"type": 3, "name": "b", "description": "b", "required": True},
                    ],
                }
            ],
        ]
        codes = []
        for payload in bad:
            async with http.put(url, json=payload, headers=headers) as response:
                codes.append((response.status, (await response.json())["code"]))
        good = [{"name": "new", "description": "Start again", "type": 1}]
        async with http.put(url, json=good, headers=headers) as response:
            assert response.status == 200
            [stored] = await response.json()
        edit = f"{emu.api_base}/webhooks/{emu.application_id}/no-such-token/messages/@original"
        async with http.patch(edit, json={"content": "hi"}) as response:
            unknown = (response.status, (await response.json())["code"])
    assert codes == [(400, 50035)] * 4
    assert stored["name"] == "new" and stored["id"].isdigit()
    assert emu.commands[None] == [stored]
    assert unknown == (404, 10015)
