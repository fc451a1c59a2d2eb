"""Account settings read from the environment in fresh processes: a fresh deployment signs up
by invitation only and prints its mails; EMAIL_URL, CHAT_SIGNUP and OIDC_* take effect."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.processes import run_python

_PROBE = """
import json
from django.conf import settings
from accounts.notices import serving_notes
print(json.dumps({
    "signup": settings.CHAT_SIGNUP,
    "verification": settings.ACCOUNT_EMAIL_VERIFICATION,
    "backend": settings.EMAIL_BACKEND,
    "host": getattr(settings, "EMAIL_HOST", None),
    "port": getattr(settings, "EMAIL_PORT", None),
    "tls": getattr(settings, "EMAIL_USE_TLS", None),
    "user": getattr(settings, "EMAIL_HOST_USER", None),
    "apps": settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"],
    "form_action": [str(v) for v in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"]],
    "notes": serving_notes(),
}))
"""


def _probe(tmp_path: Path, **extra: str) -> tuple[int, Any]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "DJANGO_SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        **extra,
    }
    done = run_python("-c", _PROBE, env=env, timeout=60)
    if done.returncode != 0:
        return done.returncode, done.stderr
    return 0, json.loads(done.stdout)


def test_a_fresh_deployment_is_invitation_only_and_prints_its_mails(tmp_path: Path) -> None:
    code, result = _probe(tmp_path)
    assert code == 0 and isinstance(result, dict), result
    assert result["signup"] == "invite"
    assert result["verification"] == "optional"
    assert result["backend"] == "django.core.mail.backends.console.EmailBackend"
    assert result["apps"] == []
    assert result["form_action"] == ["'self'"]
    notes = result["notes"]
    assert isinstance(notes, list)
    assert "mail: printed here, not sent (set EMAIL_URL to send it)" in notes
    assert any("invitation" in note for note in notes)


def test_email_url_verification_and_single_sign_on_come_from_the_environment(
    tmp_path: Path,
) -> None:
    code, result = _probe(
        tmp_path,
        CHAT_SIGNUP="open",
        CHAT_REQUIRE_EMAIL_VERIFICATION="1",
        EMAIL_URL="smtp://chat:secret@mail.example.com:587/?tls=True",
        OIDC_NAME="Company SSO",
        OIDC_SERVER_URL="https://sso.example.com/realms/team",
        OIDC_CLIENT_ID="chatsite",
        OIDC_CLIENT_SECRET="s3cret",
    )
    assert code == 0 and isinstance(result, dict), result
    assert result["signup"] == "open"
    assert result["verification"] == "mandatory"
    assert result["backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (result["host"], result["port"], result["tls"], result["user"]) == (
        "mail.example.com",
        587,
        True,
        "chat",
    )
    [app] = result["apps"]
    assert app["name"] == "Company SSO"
    assert app["client_id"] == "chatsite"
    assert app["settings"]["server_url"] == "https://sso.example.com/realms/team"
    assert result["form_action"] == ["'self'", "https://sso.example.com"]
    assert "mail: sent through mail.example.com:587 (EMAIL_URL)" in result["notes"]


def test_an_unknown_sign_up_mode_stops_the_process(tmp_path: Path) -> None:
    code, error = _probe(tmp_path, CHAT_SIGNUP="sometimes")
    assert code != 0
    assert "CHAT_SIGNUP must be open, invite or closed" in str(error)
