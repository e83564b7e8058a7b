from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from accounts import oauth
from accounts.tests import fake_novacron


@pytest.fixture
def novacron(settings: Any) -> Iterator[fake_novacron.FakeNovaCron]:
    """The portal configured against a fake NovaCron whose endpoints `responses` answers."""
    settings.NOVACRON_OAUTH_ISSUER = fake_novacron.ISSUER
    settings.NOVACRON_API_URL = fake_novacron.API_URL
    settings.NOVACRON_CLIENT_ID = fake_novacron.CLIENT_ID
    settings.NOVACRON_CLIENT_SECRET = fake_novacron.CLIENT_SECRET
    settings.SITE_URL = "http://testserver"
    oauth.reset()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield fake_novacron.install(mock)
    oauth.reset()
