"""A message's ``content`` (Markdown) rendered to the HTML every client shows (``rendered``).

The server renders each message once, when it is posted or edited (docs/api.md, "Rich
messages"), and clients show ``rendered`` only: no client renders Markdown itself. Three
steps, each with one job:

1. markdown-it-py parses a CommonMark subset: emphasis, strong, strikethrough, inline code,
   fenced code (highlighted by Pygments with CSS classes, static/css/chatsite.css), quotes,
   lists, links and autolinked http/https/mailto URLs. No raw HTML, no images, no headings,
   no tables; a newline is a line break, as in every chat.
2. In text (never in code or link text), ``:shortcode:`` becomes its Unicode emoji and
   ``@username`` a mention span for an active user; ``@channel`` and ``@here`` only when the
   sender may use them.
3. nh3 (the Ammonia sanitizer) keeps only an allow-list of tags, attributes, classes and URL
   schemes, and gives every link ``rel="noopener noreferrer nofollow ugc"``. Whatever the
   first two steps let through, this one is the last word.

Rendering is bounded: content is at most 4000 code points, nesting stops at MAX_NESTING, code
past MAX_HIGHLIGHT_CHARS is not highlighted, content whose link or emphasis openers would make
markdown-it slow shows as plain text, and docs/performance.md records the cost of
pathological input.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import emoji
import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

# Blocks and inline markup nested deeper than this render as text (markdown-it's guard).
MAX_NESTING = 20
# Code longer than this is shown plain: highlighting is the costliest step.
MAX_HIGHLIGHT_CHARS = 2000
# Past these counts markdown-it's link and emphasis scans grow towards a tenth of a second
# (docs/performance.md, "Rendering: what rich messages cost"): such content shows as plain
# text instead.
MAX_LINK_OPENERS = 200
MAX_DELIMITERS = 600

BROADCAST_MENTIONS = ("channel", "here")

# A mention starts after a space, punctuation or the start of the text (not inside an email
# address or a word) and takes the characters a username may hold (accounts: letters, digits
# and @.+-_); a final dot or dash is punctuation, not part of the name.
MENTION_RE = re.compile(r"(?<![\w@.+-])@([\w.+-]*[\w+])")
SHORTCODE_RE = re.compile(r":[a-zA-Z0-9_+-]{1,60}:")

LINK_REL = "noopener noreferrer nofollow ugc"
ALLOWED_TAGS = {
    "p",
    "br",
    "em",
    "strong",
    "s",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "span",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href"},
    "ol": {"start"},
    "span": {"data-user-id", "data-mention"},
}
URL_SCHEMES = {"http", "https", "mailto"}
PYGMENTS_CLASSES = {name for name in STANDARD_TYPES.values() if name}
ALLOWED_CLASSES = {
    "span": PYGMENTS_CLASSES | {"mention", "mention-all", "mention-me"},
    "pre": {"highlight"},
}


@dataclass(frozen=True)
class MentionContext:
    """Who ``@name`` can mean: active users by lower-case username, and whether the sender may
    use ``@channel`` and ``@here``."""

    users: Mapping[str, Any] = field(default_factory=dict)
    broadcast: bool = False


def mention_candidates(content: str) -> set[str]:
    """The lower-case names after an ``@`` in ``content`` (to look up in one query)."""
    return {match.group(1).lower() for match in MENTION_RE.finditer(content)}


def _highlight(code: str, lang: str, _attrs: Any) -> str:
    """Fenced code with a known language, as Pygments' class-marked spans in a <pre>.

    Unknown languages (and code past MAX_HIGHLIGHT_CHARS) return '' so markdown-it shows the
    code as plain, escaped text.
    """
    name = lang.strip().split(maxsplit=1)[0] if lang.strip() else ""
    if not name or len(code) > MAX_HIGHLIGHT_CHARS:
        return ""
    try:
        lexer = get_lexer_by_name(name.lower(), stripnl=False)
    except ClassNotFound:
        return ""
    spans = pygments_highlight(code, lexer, _formatter())
    return f'<pre class="highlight"><code>{spans}</code></pre>\n'


@lru_cache(maxsize=1)
def _formatter() -> HtmlFormatter:
    return HtmlFormatter(nowrap=True)


def _replace_in_text(state: StateCore) -> None:
    """Core rule: shortcodes and mentions in text tokens, outside code and link text."""
    context: MentionContext = state.env.get("mentions") or MentionContext()
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        in_link = 0
        for token in block.children:
            if token.type == "link_open":
                in_link += 1
            elif token.type == "link_close":
                in_link -= 1
            if token.type != "text" or in_link:
                children.append(token)
                continue
            text = _emojize(token.content)
            children.extend(_mention_tokens(text, context, token))
        block.children = children


def _emojize(text: str) -> str:
    if ":" not in text:
        return text
    return SHORTCODE_RE.sub(_shortcode, text)


@lru_cache(maxsize=2048)
def _shortcode_emoji(code: str) -> str:
    # GitHub/Slack names (:+1:, :tada:) first, then the Unicode CLDR names (:thumbs_up:).
    found = emoji.emojize(code, language="alias")
    return found if found != code else ""


def _shortcode(match: re.Match[str]) -> str:
    return _shortcode_emoji(match.group(0)) or match.group(0)


def _mention_tokens(text: str, context: MentionContext, source: Token) -> Iterable[Token]:
    if "@" not in text:
        source.content = text
        return [source]
    tokens: list[Token] = []
    start = 0
    for match in MENTION_RE.finditer(text):
        span = _mention_html(match.group(1), context)
        if span is None:
            continue
        if match.start() > start:
            tokens.append(_text_token(text[start : match.start()]))
        html_token = Token("html_inline", "", 0)
        html_token.content = span
        tokens.append(html_token)
        start = match.end()
    if not tokens:
        source.content = text
        return [source]
    if start < len(text):
        tokens.append(_text_token(text[start:]))
    return tokens


def _text_token(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _mention_html(name: str, context: MentionContext) -> str | None:
    lowered = name.lower()
    if lowered in BROADCAST_MENTIONS:
        if not context.broadcast:
            return None
        return f'<span class="mention mention-all" data-mention="{lowered}">@{lowered}</span>'
    user_id = context.users.get(lowered)
    if user_id is None:
        return None
    return (
        f'<span class="mention" data-user-id="{html.escape(str(user_id))}">'
        f"@{html.escape(name)}</span>"
    )


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt(
        "commonmark",
        {
            "html": False,
            "linkify": True,
            "breaks": True,
            "typographer": False,
            "maxNesting": MAX_NESTING,
            "highlight": _highlight,
        },
    )
    md.enable(["strikethrough", "linkify"])
    md.disable(["image", "heading", "lheading", "hr", "html_block", "html_inline"])
    md.core.ruler.push("chat_text", _replace_in_text)
    return md


@lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        allowed_classes=ALLOWED_CLASSES,
        link_rel=LINK_REL,
        url_relative="deny",
        strip_comments=True,
    )


def sanitize(markup: str) -> str:
    """HTML cut down to the allow-list above (the last step of ``render``)."""
    return str(_cleaner().clean(markup))


def too_costly(content: str) -> bool:
    """Whether formatting ``content`` could take long (many link or emphasis openers)."""
    delimiters = content.count("*") + content.count("_") + content.count("~")
    return content.count("[") > MAX_LINK_OPENERS or delimiters > MAX_DELIMITERS


def render_plain(content: str) -> str:
    """``content`` as escaped text in one paragraph, its newlines as line breaks."""
    return "<p>" + html.escape(content, quote=False).replace("\n", "<br>\n") + "</p>"


def render(content: str, mentions: MentionContext | None = None) -> str:
    """``content`` as sanitized HTML; '' for '' (a tombstone). Content that would be costly
    to format (``too_costly``) is shown as plain text."""
    if not content:
        return ""
    if too_costly(content):
        return sanitize(render_plain(content))
    markup = _parser().render(content, {"mentions": mentions or MentionContext()})
    return sanitize(markup).strip()


MentionLookup = Callable[[set[str]], Mapping[str, Any]]


def render_with_lookup(content: str, *, lookup: MentionLookup, broadcast: bool) -> str:
    """``render``, looking up the users that ``content`` names with ``lookup`` (one query)."""
    names = mention_candidates(content) - set(BROADCAST_MENTIONS) if content else set()
    users = lookup(names) if names else {}
    return render(content, MentionContext(users=users, broadcast=broadcast))


def is_emoji(value: object) -> bool:
    """Whether ``value`` is exactly one Unicode emoji (skin tones and ZWJ sequences count)."""
    return isinstance(value, str) and 0 < len(value) <= 32 and emoji.is_emoji(value)
