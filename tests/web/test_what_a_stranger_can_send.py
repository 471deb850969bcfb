"""What anyone who can reach the server may send it without signing in (a hostile review of break-ins): a page's
address no file can have is a 404, never a 500 with a traceback in the error log."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient
from structlog.testing import capture_logs

from floor.web.app import create_app
from tests.support.staff import test_floors


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(test_floors(tmp_path))) as client:
        yield client


@pytest.mark.parametrize(
    "path",
    [
        "/%00",  # a NUL: "embedded null byte"
        "/i18n/en%00.json",
        "/index.html/x",  # a file taken for a folder: "Not a directory"
        "/" + "a" * 300,  # a name longer than the file system's: "File name too long"
        "/i18n/" + "a" * 300 + ".json",
    ],
)
def test_a_page_address_no_file_can_have_is_not_found(client, path: str) -> None:
    with capture_logs() as logs:
        answer = client.get(path)
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"] == "not_found"
    assert [e["event"] for e in logs if e["log_level"] == "error"] == []


def test_the_pages_are_still_served(client) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/i18n/en.json").status_code == 200
    assert client.get("/vendor/redoc/redoc.standalone.js").status_code == 200
    assert client.get("/no-such-page.html").status_code == 404
