"""Hide credentials in URLs before they are printed or logged.

``https://user:secret@host/x`` becomes ``https://user:***@host/x`` (a bare ``token@`` becomes
``***@``), and query parameters that carry secrets (``X-Amz-Signature``, ``token``, ``key``,
``sig``, ...) keep their names but lose their values.
"""

from __future__ import annotations

import re

__all__ = ["redact"]

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@\s:'\"]*)(?::[^/@\s'\"]*)?@")
_SECRET_PARAM = re.compile(
    r"(?P<name>[?&](?:[Xx]-[Aa]mz-(?:Signature|Credential|Security-Token)|token|access_token|key|api_key|apikey|"
    r"sig|signature|password|secret)=)[^&\s'\"]*"
)


def _userinfo(match: re.Match[str]) -> str:
    user = match.group("user")
    if ":" in match.group(0)[len(match.group("scheme")) :] and user:
        return f"{match.group('scheme')}{user}:***@"
    return f"{match.group('scheme')}***@"


def redact(text: str) -> str:
    """``text`` with the passwords, tokens and signatures in every URL in it replaced by ``***``."""
    text = _USERINFO.sub(_userinfo, text)
    return _SECRET_PARAM.sub(lambda m: f"{m.group('name')}***", text)
