"""The local server checks lead e-mails as a validating Knowrithm does: the docs make the lead's
``email`` a validated ``String(email)`` that identifies the lead."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from tests.bots.test_local_knowrithm import AUTH, TLS


@pytest.fixture
async def server() -> AsyncIterator[LocalKnowrithm]:
    async with LocalKnowrithm() as running:
        yield running


@pytest.fixture
async def http(server: LocalKnowrithm) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        verify=TLS, base_url=server.base_url + "/v1", headers=AUTH
    ) as client:
        yield client


@pytest.mark.parametrize("path", ["/lead", "/sdk/lead"])
@pytest.mark.parametrize(
    "email",
    [
        "tg-1@telegram.invalid",
        "bot@ci.test",
        "me@printer.local",
        "root@localhost",
        "ada@leads.example",
        "no-at-sign",
        "two@@signs.com",
    ],
)
async def test_an_address_no_validator_accepts_is_a_422(
    server: LocalKnowrithm, http: httpx.AsyncClient, path: str, email: str
) -> None:
    response = await http.post(path, json={"first_name": "A", "last_name": "B", "email": email})
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("'email' is not a valid e-mail address: ")
    assert server.state.leads == {}


@pytest.mark.parametrize("path", ["/lead", "/sdk/lead"])
async def test_a_second_lead_with_a_known_address_is_a_409(
    server: LocalKnowrithm, http: httpx.AsyncClient, path: str
) -> None:
    body = {"first_name": "Ada", "last_name": "L", "email": "ada@leads.example-company.com"}
    assert (await http.post(path, json=body)).status_code == 201
    for email in ("ada@leads.example-company.com", "ADA@Leads.Example-Company.com"):
        again = await http.post("/sdk/lead", json={**body, "email": email})
        assert again.status_code == 409
        assert again.json() == {
            "detail": "A lead with this email already exists",
            "error_code": "LEAD_EXISTS",
        }
    assert len(server.state.leads) == 1
