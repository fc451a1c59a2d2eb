"""Search in the embedded mode (SQLite, no search index): substrings, filters and cursors."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.processes import run_python

SCRIPT = """
import django, json
django.setup()
from django.core.management import call_command
from accounts.models import User
from chat import selectors, services
from chat.exceptions import ChatError
from chatsite import rls

with rls.acting_as_service():
    call_command('migrate', verbosity=0)
    alice = User.objects.create_user('alice', 'alice@example.com', 'x-Pass-1234')
    bob = User.objects.create_user('bob', 'bob@example.com', 'x-Pass-1234')
with rls.acting_as_user(alice):
    general = services.channel_create(user=alice, name='general')
    secret = services.channel_create(user=alice, name='secret', is_private=True)
    texts = ['Deploying tonight', 'see https://ci.example.com/builds/1', 'get_user_id is None',
             'lunch: pizza', 'the quarterly planning meeting']
    for text in texts:
        services.message_create(user=alice, channel_id=general.pk, content=text)
    services.message_create(user=alice, channel_id=secret.pk, content='secret deploy plan')

def search(user, q, **kwargs):
    with rls.acting_as_user(user):
        try:
            hits, cursor = selectors.message_search(user=user, q=q, **kwargs)
        except ChatError as error:
            return {'error': error.fields}
        hits_out = [hit.message.content for hit in hits]
        return {'hits': hits_out, 'headlines': [hit.headline for hit in hits], 'next': cursor}

out = {
    'deplo': search(bob, 'deplo'),
    'deplo_alice': search(alice, 'deplo'),
    'url': search(bob, 'example.com/builds'),
    'phrase': search(bob, '"planning meeting"'),
    'or': search(bob, 'pizza OR tonight'),
    'minus': search(bob, 'deplo -tonight'),
    'from': search(bob, 'from:bob'),
    'link': search(bob, 'has:link'),
    'in': search(bob, 'in:secret deploy'),
    'page1': search(alice, 'e', limit=4),
    'bad': search(bob, 'before:never'),
}
out['page2'] = search(alice, 'e', limit=4, cursor=out['page1']['next'])
print(json.dumps(out))
"""


def test_sqlite_mode_searches_by_substring_with_filters_and_cursors(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "COV_CORE_SOURCE", "SEED_PASSWORD"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="chatsite.settings",
        DJANGO_DEBUG="1",
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
    )
    result = run_python("-c", SCRIPT, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["deplo"]["hits"] == ["Deploying tonight"]
    assert out["deplo"]["headlines"] == ["<mark>Deplo</mark>ying tonight"]
    assert sorted(out["deplo_alice"]["hits"]) == ["Deploying tonight", "secret deploy plan"]
    assert out["url"]["hits"] == ["see https://ci.example.com/builds/1"]
    assert out["phrase"]["hits"] == ["the quarterly planning meeting"]
    assert sorted(out["or"]["hits"]) == ["Deploying tonight", "lunch: pizza"]
    assert out["minus"]["hits"] == []
    assert out["from"]["hits"] == []
    assert out["link"]["hits"] == ["see https://ci.example.com/builds/1"]
    assert out["in"]["hits"] == []
    assert len(out["page1"]["hits"]) == 4 and out["page1"]["next"]
    assert len(out["page2"]["hits"]) == 1 and out["page2"]["next"] is None
    assert not set(out["page1"]["hits"]) & set(out["page2"]["hits"])
    assert "q" in out["bad"]["error"]
