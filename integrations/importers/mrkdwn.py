"""Slack's mrkdwn as chatsite's Markdown (docs/integrations.md, "Moving in from Slack").

Slack escapes ``&``, ``<`` and ``>`` in message text and writes references in angle brackets:
``<@U024BE7LH>`` (a user), ``<#C024BE7LR|general>`` (a channel), ``<!here>`` (a broadcast),
``<https://example.com|label>`` (a link). Emphasis is single: ``*bold*``, ``_italic_``,
``~strike~``. Code spans and blocks keep their text as it is (unescaped only).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

# Code first, so that nothing inside it is read as emphasis or a reference.
CODE_RE = re.compile(r"```(.*?)```|`[^`\n]+`", re.DOTALL)
REFERENCE_RE = re.compile(r"<([^<>\n]{1,2000})>")
BOLD_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
STRIKE_RE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
BROADCASTS = {"here": "@here", "channel": "@channel", "everyone": "@channel"}
LINK_SCHEMES = ("http://", "https://", "mailto:")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _label(text: str) -> str:
    # A label inside [ ] must not close the link early.
    return _unescape(text).replace("[", "\\[").replace("]", "\\]")


class Converter:
    """Converts one workspace's messages: ``username_of`` names the user a Slack id became
    (or None), ``channel_name_of`` the channel."""

    def __init__(
        self,
        *,
        username_of: Callable[[str], str | None],
        channel_name_of: Callable[[str], str | None],
    ) -> None:
        self.username_of = username_of
        self.channel_name_of = channel_name_of

    def convert(self, text: str) -> str:
        parts: list[str] = []
        position = 0
        for match in CODE_RE.finditer(text):
            parts.append(self._prose(text[position : match.start()]))
            parts.append(self._code(match))
            position = match.end()
        parts.append(self._prose(text[position:]))
        return "".join(parts)

    def _code(self, match: re.Match[str]) -> str:
        if match.group(1) is None:
            return _unescape(match.group(0))
        body = _unescape(match.group(1)).strip("\n")
        # Slack writes ```code``` on one line; Markdown needs the fences on lines of their own.
        return f"\n```\n{body}\n```\n"

    def _prose(self, text: str) -> str:
        if not text:
            return ""
        references: list[str] = []

        def hold(match: re.Match[str]) -> str:
            # References are set aside while emphasis is converted, so that a URL's
            # underscores or asterisks are left alone.
            references.append(self._reference(match.group(1)))
            return f"\x00{len(references) - 1}\x00"

        held = REFERENCE_RE.sub(hold, text)
        held = BOLD_RE.sub(r"**\1**", held)
        held = STRIKE_RE.sub(r"~~\1~~", held)
        held = _unescape(held)
        return re.sub(r"\x00(\d+)\x00", lambda m: references[int(m.group(1))], held)

    def _reference(self, inner: str) -> str:
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            username = self.username_of(target[1:])
            if username:
                return f"@{username}"
            return f"@{_unescape(label)}" if label else "@unknown"
        if target.startswith("#"):
            name = self.channel_name_of(target[1:]) or _unescape(label)
            return f"#{name}" if name else "#unknown"
        if target.startswith("!"):
            command = target[1:].split("^", 1)[0]
            if command in BROADCASTS:
                return BROADCASTS[command]
            # <!subteam^S1|@team>, <!date^1392734382^{date}|Feb 18, 2014>: the fallback.
            return _unescape(label) if label else ""
        target = _unescape(target)
        if not target.lower().startswith(LINK_SCHEMES):
            return _unescape(inner)
        if not label or _unescape(label) in (target, target.removeprefix("mailto:")):
            return f"<{target}>" if target.lower().startswith("mailto:") else target
        return f"[{_label(label)}]({target.replace(')', '%29').replace(' ', '%20')})"


def plain(text: str) -> str:
    """``text`` with Slack's escapes undone (topics, names)."""
    return html.unescape(text) if "&" in text else text
