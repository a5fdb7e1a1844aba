"""Creating a lead that Knowrithm already has: found by e-mail and reused, never doubled."""

from __future__ import annotations

import json

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.errors import AuthError, BadRequestError
from knowrithm_bots.core.knowrithm import KnowrithmClient

EMAIL = "telegram-42@leads.example-company.com"


def searches(server: LocalKnowrithm) -> list[dict[str, str]]:
    return [r.query for r in server.state.received if r.path.endswith("/lead/company")]


async def test_a_second_create_with_the_same_email_reuses_the_lead(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    first = await client.create_lead(first_name="Ada", last_name="L", email=EMAIL)
    # Knowrithm compares addresses without regard to case.
    again = await client.create_lead(first_name="Ada", last_name="L", email=EMAIL.upper())
    assert again.id == first.id
    assert len(knowrithm.state.leads) == 1
    posts = [r.path for r in knowrithm.state.received if r.method == "POST"]
    assert posts == ["/api/v1/sdk/lead", "/api/v1/sdk/lead"]
    assert searches(knowrithm) == [{"search": EMAIL.upper()}]


async def test_an_already_exists_refusal_without_409_is_a_reuse_too(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    first = await client.create_lead(first_name="Ada", last_name="L", email=EMAIL)
    knowrithm.faults.fail_next(
        method="POST",
        path_contains="/sdk/lead",
        status=400,
        body=json.dumps({"error": "Lead with this email already exists"}),
    )
    again = await client.create_lead(first_name="Ada", last_name="L", email=EMAIL)
    assert again.id == first.id


async def test_a_409_is_not_taken_for_a_lead_the_search_cannot_find(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    # The search matches parts of addresses: only the exact one may be reused.
    await client.create_lead(first_name="Ada", last_name="L", email=f"x{EMAIL}")
    knowrithm.faults.fail_next(method="POST", path_contains="/sdk/lead", status=409)
    with pytest.raises(BadRequestError) as refused:
        await client.create_lead(first_name="Ada", last_name="L", email=EMAIL)
    assert refused.value.status == 409
    assert searches(knowrithm) == [{"search": EMAIL}]
    assert len(knowrithm.state.leads) == 1


async def test_other_refusals_are_not_searched(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    with pytest.raises(BadRequestError, match="HTTP 422") as invalid:
        await client.create_lead(first_name="A", last_name="B", email="a@telegram.invalid")
    assert "special-use or reserved" in str(invalid.value)
    knowrithm.faults.fail_next(
        method="POST",
        path_contains="/sdk/lead",
        status=403,
        body=json.dumps({"detail": "Lead already exists in another company"}),
    )
    with pytest.raises(AuthError):
        await client.create_lead(first_name="A", last_name="B", email=EMAIL)
    assert searches(knowrithm) == []
    assert knowrithm.state.leads == {}
