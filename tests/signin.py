"""Drive the emulator's sign-in page like a browser: read the form, submit it, follow the redirect."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
        if tag == "input" and values.get("name"):
            self.fields[values["name"]] = values.get("value", "")


def sign_in(http: httpx.Client, authorize_url: str, *, password: str = "demo", action: str = "accept") -> str:
    """Open ``authorize_url``, fill in the password, press Accept (or Cancel); return the redirect URL."""
    page = http.get(authorize_url)
    assert page.status_code == 200, page.text
    form = _FormParser()
    form.feed(page.text)
    form.fields["password"] = password
    form.fields["action"] = action
    target = urljoin(str(page.url), form.action or str(page.url))
    answer = http.post(target, data=form.fields)
    assert answer.status_code in (302, 303), answer.text[:500]
    return answer.headers["location"]
