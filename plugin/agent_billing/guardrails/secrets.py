"""The one secret policy: what counts as a secret, for the model-facing output, the audit log and tool arguments.

Everything that hides, logs or refuses secrets asks this module, so they cannot disagree (a value
hidden from the log but shown to the model, or the other way round).

Secret key names
    Compared case-insensitively, on the key's words (``client_secret``, ``X-API-Key``, ``apiKey``,
    ``card[access_token]``): any key with ``token``, ``secret``, ``password``/``passwd``/
    ``passphrase``, ``authorization``, ``cookie``, ``credential``, ``bearer``, ``jwt``, ``apikey``,
    ``privatekey``, ``accesskey``, ``signingkey`` or ``secretkey`` in it. Not secret: ``public_key``,
    ``idempotency_key``, and token *bookkeeping* (``token_type``, ``token_id``, ``max_tokens``,
    ``token_count``, ``expires_at``...): a word that counts or names tokens, not a token.

Secret-looking values, found inside any text
    ``Bearer ...`` (an Authorization value), JWTs (``eyJ...``), Stripe secret and restricted keys
    (``sk_live_``/``sk_test_``/``rk_live_``/``rk_test_``), webhook signing secrets (``whsec_``), Stripe
    client secrets (``seti_..._secret_...``, ``pi_..._secret_...``, ``cs_..._secret_...``), our
    single-use confirmation tokens (``conf_...``), every provider's keys as its connection declares them
    (``Connection.key_prefixes`` followed by 8+ key characters, and ``Connection.key_patterns``), and
    ``name=value`` / ``"name": "value"`` pairs whose name is a secret key name.
    A publishable key (``pk_live_``/``pk_test_``) is *not* secret: it is meant for browsers.

Known secrets, by value
    Every client registers its configured access token when it is built (:func:`register_secret`):
    a bounded, process-wide set of the last 256 values, never printed. Their obvious variants count
    too: with and without a ``Bearer``/``Basic``/``Token`` prefix, percent-encoded (``quote``,
    ``quote_plus``), HTML-escaped, JSON-escaped, base64 (of the token and of ``user:token`` with an
    empty user, as HTTP Basic sends it). :func:`find_secret_values` reports them as ``known_secret``
    spans wherever they occur (values of 8+ characters inside any text; shorter ones only as a whole
    value), so every redaction and every argument check knows them with no extra parameter.

Tool arguments
    :func:`find_secrets` reports a secret-looking value anywhere (keys included), a non-empty value
    under a secret key name, and any exact *known* secret (the configured access token) inside any
    string, also after NFKC folding, with invisible characters or whitespace removed, percent- or
    HTML-decoded. Confirmation tokens are not reported there: the model is handed one to pass back.
    A pair in prose (``password: hunter2``) counts only when its value is 8+ characters with a digit or
    symbol, so ``token: expired`` passes. Known secrets shorter than 8 characters match only a whole
    value. Not detected: a secret re-encoded (base64, reversed, spelled out) or an unknown
    provider's key with no recognisable shape and no secret key name.

Example:
    >>> is_secret_key("client_secret"), is_secret_key("X-API-Key"), is_secret_key("public_key")
    (True, True, False)
    >>> redact_secrets({"id": "seti_1", "client_secret": "seti_1_secret_abc", "note": "key sk_test_abcdefgh123"})
    {'id': 'seti_1', 'client_secret': '[redacted]', 'note': 'key [redacted]'}
    >>> [(f.kind, f.path) for f in find_secrets({"name": "Ada", "note": "sk_sandbox_test"}, known=["sk_sandbox_test"])]
    [('known_secret', 'note')]
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import quote, quote_plus, unquote

from agent_billing.errors import SecretRefusedError
from agent_billing.guardrails.card_data import child_path_of

__all__ = [
    "REDACTED",
    "SECRET_REFUSAL_MESSAGE",
    "SecretFinding",
    "SecretKind",
    "find_secret_values",
    "find_secrets",
    "is_secret_key",
    "known_secrets",
    "redact_secret_text",
    "redact_secrets",
    "refuse_secrets",
    "register_secret",
]

REDACTED = "[redacted]"

SecretKind = Literal["secret_field", "secret_value", "confirmation_token", "known_secret"]

SECRET_REFUSAL_MESSAGE = (
    "Refused: this tool call contains a secret (an access token, API key, client secret or password). "
    "Secrets must never pass through an agent or a tool call, so nothing was sent; do not repeat, store or "
    "ask for them. Trusted application code holds the credentials; call the tool without them."
)

# --- key names ---------------------------------------------------------------------------------

_SECRET_WORDS = (
    "token", "secret", "password", "passwd", "passphrase", "authorization", "cookie", "credential", "bearer",
    "jwt", "apikey", "privatekey", "accesskey", "signingkey", "secretkey",
)  # fmt: skip
# Words that make a "token" key bookkeeping rather than a token: token_type, max_tokens, token_count...
_TOKEN_BOOKKEEPING = re.compile(
    r"tokens?(?:type|id|ids|count|counts|usage|used|limit|limits|name|names|url|endpoint|expiry|expires"
    r"|expiresat|expiresin|ttl|length|budget|prefix|hint|last4)$"
    r"|^(?:max|min|num|total|prompt|completion|input|output|used|remaining)tokens?"
)
_KEY_JUNK = re.compile(r"[\W_]+")


@lru_cache(maxsize=4096)
def is_secret_key(name: Any) -> bool:
    """Whether a key's name says its value is a secret.

    Example:
        >>> is_secret_key("refresh_token"), is_secret_key("Authorization"), is_secret_key("token_type")
        (True, True, False)
        >>> is_secret_key("idempotency_key"), is_secret_key(7)
        (False, False)
    """
    if not isinstance(name, str) or len(name) > 200:
        return False
    normalized = _KEY_JUNK.sub("", name.casefold())
    if not any(word in normalized for word in _SECRET_WORDS):
        return False
    return not (
        _TOKEN_BOOKKEEPING.search(normalized)
        and not any(word in normalized for word in _SECRET_WORDS if word != "token")
    )


# --- values in text ----------------------------------------------------------------------------

_PATTERNS: tuple[tuple[SecretKind, str], ...] = (
    ("secret_value", r"(?<![A-Za-z])(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}"),  # an Authorization header value
    ("secret_value", r"(?<![A-Za-z0-9])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # a JWT
    # Stripe client secrets of setup intents, payment intents and checkout sessions
    ("secret_value", r"(?<![A-Za-z0-9])(?:seti|pi|cs)_(?:(?:live|test)_)?[A-Za-z0-9]+_secret_[A-Za-z0-9]+"),
    ("secret_value", r"(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}"),  # Stripe secret/restricted keys
    ("secret_value", r"(?<![A-Za-z0-9])whsec_[A-Za-z0-9+/=]{8,}"),  # webhook signing secrets
    ("confirmation_token", r"(?<![A-Za-z0-9])conf_[A-Za-z0-9_-]{16,}"),  # our single-use confirmations
)


def _provider_patterns() -> tuple[str, ...]:
    """The key shapes the providers declare (``Connection.key_prefixes`` and ``key_patterns``)."""
    from agent_billing.provider import get_provider, provider_names

    patterns: list[str] = []
    for name in provider_names():
        connection = get_provider(name).registry.connection
        patterns += [rf"(?<![A-Za-z0-9]){re.escape(prefix)}[A-Za-z0-9_-]{{8,}}" for prefix in connection.key_prefixes]
        patterns += [rf"(?<![\w|])(?:{pattern})(?![A-Za-z0-9])" for pattern in connection.key_patterns]
    return tuple(dict.fromkeys(patterns))


class _ValuePatterns:
    """The value regex and its prefilter, rebuilt when the set of providers changes (one added at run time)."""

    def __init__(self) -> None:
        self._names: tuple[str, ...] | None = None
        self.kinds: list[SecretKind] = []
        self.values = re.compile("(?!)")
        self.prefilter = re.compile("(?!)")

    def current(self) -> _ValuePatterns:
        from agent_billing import provider

        # Discovery reads the installed entry points once; after that the registered names are cheap to compare.
        names = tuple(provider._PROVIDERS) if self._names is not None else tuple(provider.provider_names())
        if names != self._names:
            declared = _provider_patterns()
            every = [*_PATTERNS, *(("secret_value", p) for p in declared)]
            self.kinds = [kind for kind, _ in every]
            self.values = re.compile("|".join(f"(?P<p{i}>{pattern})" for i, (_, pattern) in enumerate(every)))
            # A declared shape may start with anything: its texts always pass the prefilter.
            words = _PREFILTER_WORDS if not declared else "|".join((_PREFILTER_WORDS, *declared))
            self.prefilter = re.compile(words)
            self._names = names
        return self


_VALUES = _ValuePatterns()
# name=value, name: value, "name": "value" (query strings, header dumps, JSON, error texts). An
# Authorization value may carry its scheme (Basic, Bearer, Token, Digest) before the credentials.
_PAIR_RE = re.compile(
    r"(?P<name>[A-Za-z0-9_-]*(?i:token|secret|api[_-]?key|password|passwd|authorization|cookie|credential)"
    r"[A-Za-z0-9_-]*)"
    r"(?P<sep>[\"']?\s*[=:]\s*[\"']?)"
    r"(?P<value>(?i:(?:basic|bearer|token|digest)\s+)?[^\s&\"',;]+)"
)
_PREFILTER_WORDS = r"(?i:bearer|eyj|_secret_|sk_|rk_|whsec|conf_|token|secret|key|passw|authoriz|cookie|credential)"


# --- known secrets, by value --------------------------------------------------------------------

_KNOWN_LIMIT = 256  # bounded: a process that builds many clients forgets the oldest tokens first
_MIN_INNER = 8  # shorter known values are found only as a whole value (a 1-letter test token is everywhere)


class _KnownSecrets:
    """The registered secret values and a compiled pattern of their variants (never printed)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: OrderedDict[str, None] = OrderedDict()
        self._whole: frozenset[str] = frozenset()
        self.pattern: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"<{len(self._values)} known secrets>"

    def add(self, value: str) -> None:
        value = value.strip()
        if not value:
            return
        with self._lock:
            if value in self._values:
                self._values.move_to_end(value)
                return
            self._values[value] = None
            while len(self._values) > _KNOWN_LIMIT:
                self._values.popitem(last=False)
            self._rebuild()

    def _rebuild(self) -> None:
        inner: set[str] = set()
        whole: set[str] = set()
        for value in self._values:
            for form in _secret_forms(value):
                (inner if len(form) >= _MIN_INNER else whole).add(form)
        self._whole = frozenset(whole)
        # Longest first, so a variant that contains another is replaced whole.
        alternatives = sorted(inner, key=len, reverse=True)
        self.pattern = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None

    def whole(self, text: str) -> bool:
        return bool(self._whole) and text.strip() in self._whole

    def values(self) -> list[str]:
        with self._lock:
            return list(self._values)


def _secret_forms(value: str) -> set[str]:
    """``value`` and the forms it is sent or echoed in (see the module doc)."""
    forms = {value, unicodedata.normalize("NFKC", value), quote(value, safe=""), quote_plus(value), quote(value),
             html.escape(value), json.dumps(value)[1:-1]}
    raw = value.encode()
    for blob in (raw, b":" + raw):  # the token, and HTTP Basic's user:password with the token as password
        encoded = base64.b64encode(blob).decode()
        forms |= {encoded, encoded.rstrip("="), base64.urlsafe_b64encode(blob).decode().rstrip("=")}
    return {form for form in forms if form}


_KNOWN = _KnownSecrets()


def register_secret(value: str | None) -> None:
    """Remember a configured secret (an access token) so it is hidden wherever it shows up.

    Clients call this when they are built; nothing ever prints the registry.

    Example:
        >>> register_secret("plain-token-without-shape-42")
        >>> redact_secret_text("echo: plain-token-without-shape-42 and cGxhaW4tdG9rZW4td2l0aG91dC1zaGFwZS00Mg==")
        'echo: [redacted] and [redacted]'
    """
    if isinstance(value, str):
        _KNOWN.add(value)


def known_secrets() -> list[str]:
    """The registered secret values (for argument checks; never show them).

    Example:
        >>> register_secret("another-known-token-7")
        >>> "another-known-token-7" in known_secrets()
        True
    """
    return _KNOWN.values()


@dataclass(frozen=True)
class SecretSpan:
    """Where a secret sits in a text, and of which kind (``pair``: only the value of a name=value pair).

    Example:
        >>> find_secret_values("token=abc123")
        [SecretSpan(start=6, end=12, kind='secret_field', pair=True)]
    """

    start: int
    end: int
    kind: SecretKind
    pair: bool = False


def find_secret_values(text: str) -> list[SecretSpan]:
    """Secret-looking substrings of ``text``, in order (see the module doc for what counts).

    Example:
        >>> [(s.kind, s.start) for s in find_secret_values("use sk_live_abcdefgh1 or pk_live_abcdefgh1")]
        [('secret_value', 4)]
    """
    spans: list[SecretSpan] = []
    if _KNOWN.pattern is not None:
        spans.extend(SecretSpan(m.start(), m.end(), "known_secret") for m in _KNOWN.pattern.finditer(text))
    if _KNOWN.whole(text):
        spans.append(SecretSpan(0, len(text), "known_secret"))
    patterns = _VALUES.current()
    if not patterns.prefilter.search(text):
        return sorted(spans, key=lambda s: (s.start, -s.end))
    for match in patterns.values.finditer(text):
        index = int(next(name for name, value in match.groupdict().items() if value is not None)[1:])
        spans.append(SecretSpan(match.start(), match.end(), patterns.kinds[index]))
    for match in _PAIR_RE.finditer(text):
        if is_secret_key(match.group("name")):
            spans.append(SecretSpan(match.start("value"), match.end("value"), "secret_field", pair=True))
    return sorted(spans, key=lambda s: (s.start, -s.end))


def redact_secret_text(text: str, marker: str = REDACTED) -> str:
    """``text`` with every secret-looking substring replaced by ``marker`` (a pair keeps its name).

    Example:
        >>> redact_secret_text("declined, Authorization: Bearer abcdefghijkl")
        'declined, Authorization: [redacted]'
    """
    spans = find_secret_values(text)
    if not spans:
        return text
    out: list[str] = []
    position = 0
    for span in spans:
        if span.end <= position:
            continue  # inside a region already replaced
        out.append(text[position : max(position, span.start)])
        if span.start >= position:
            out.append(marker)
        position = span.end
    out.append(text[position:])
    return "".join(out)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)) and not value)


def redact_secrets(value: Any, marker: str = REDACTED) -> Any:
    """A copy of a JSON-like value with secrets replaced by ``marker``.

    A present value (not None or empty) under a secret key name becomes ``marker`` whatever it is;
    secret-looking text in other strings and in keys is replaced. Mappings come back as dicts, tuples
    stay tuples; other values are returned as they are.

    Example:
        >>> redact_secrets({"token": {"nested": 1}, "items": ("Bearer abcdefghij", 3), "refresh_token": None})
        {'token': '[redacted]', 'items': ('[redacted]', 3), 'refresh_token': None}
    """
    if isinstance(value, str):
        return redact_secret_text(value, marker)
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            name = redact_secret_text(key, marker) if isinstance(key, str) else key
            while name in out:  # two keys redacted to the same text
                name = f"{name}*"
            out[name] = marker if is_secret_key(key) and _present(item) else redact_secrets(item, marker)
        return out
    for kind in (list, tuple, frozenset, set):
        if isinstance(value, kind):
            return kind(redact_secrets(item, marker) for item in value)
    return value


# --- tool arguments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretFinding:
    """One secret found in arguments: the kind and where, never the value.

    Example:
        >>> SecretFinding("known_secret", "note").describe()
        "a configured secret in 'note'"
    """

    kind: SecretKind
    path: str

    def describe(self) -> str:
        """Kind and field, without the value.

        Example:
            >>> SecretFinding(kind="secret_field", path="client_secret").describe()
            "a secret field in 'client_secret'"
        """
        words = {"secret_field": "a secret field", "secret_value": "a secret-looking value",
                 "confirmation_token": "a confirmation token", "known_secret": "a configured secret"}[self.kind]
        return f"{words} in '{self.path[:120]}'" if self.path else f"{words} in the text"


_INVISIBLE_OR_SPACE = re.compile(r"[\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
                                 r"\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]+")
_HIDDEN_KEY = "<key>"


def _variants(text: str) -> set[str]:
    """``text`` and the forms a secret could hide in: NFKC-folded, percent- and HTML-decoded."""
    forms = {text, unicodedata.normalize("NFKC", text)}
    if "%" in text:
        forms |= {unquote(form) for form in list(forms)}
    if "&" in text:
        forms |= {html.unescape(form) for form in list(forms)}
    return forms


def _plausible_pair_value(text: str, span: SecretSpan) -> bool:
    value = text[span.start : span.end]
    return len(value) >= 8 and any(not c.isalpha() for c in value)


def _text_kinds(text: str, known: list[str]) -> set[SecretKind]:
    kinds: set[SecretKind] = set()
    forms = _variants(text)
    for form in forms:
        for span in find_secret_values(form):
            if not span.pair or _plausible_pair_value(form, span):
                kinds.add(span.kind)
    if known:
        # A known secret is random: found even with spaces or invisible characters put inside it.
        forms |= {_INVISIBLE_OR_SPACE.sub("", form) for form in forms}
        if any((len(secret) >= 8 and secret in form) or form.strip() == secret for form in forms for secret in known):
            kinds.add("known_secret")
    return kinds


def find_secrets(value: Any, known: Iterable[str] = ()) -> list[SecretFinding]:
    """Secrets in raw tool arguments (see the module doc): kinds and paths, never values.

    ``known`` are exact secret strings (the configured access token) looked for inside every string
    and key. Confirmation tokens are not reported: the model passes those back by design.

    Example:
        >>> [(f.kind, f.path) for f in find_secrets({"meta": {"api_key": "x1"}, "note": "Bearer abcdefghij"})]
        [('secret_field', 'meta.api_key'), ('secret_value', 'note')]
        >>> find_secrets({"confirmation": "conf_" + "A" * 43, "amount": "25.00"})
        []
    """
    secrets = [s for s in {unicodedata.normalize("NFKC", s) for s in [*known, *_KNOWN.values()] if s} if s.strip()]
    findings: list[SecretFinding] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: SecretKind, path: str) -> None:
        if kind != "confirmation_token" and (kind, path) not in seen:
            seen.add((kind, path))
            findings.append(SecretFinding(kind, path))

    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > 200:
            continue  # deeper than any argument: nothing to read there, and cycles stop here
        if isinstance(item, (bytes, bytearray)):
            item = bytes(item).decode("utf-8", "replace")
        if isinstance(item, str):
            for kind in sorted(_text_kinds(item, secrets)):
                add(kind, path)
        elif isinstance(item, Mapping):
            children: list[tuple[Any, str, int]] = []
            for key, child in item.items():
                key_kinds = _text_kinds(key, secrets) if isinstance(key, str) else set()
                child_path = child_path_of(path, _HIDDEN_KEY if key_kinds else key)  # never show a secret key
                for kind in sorted(key_kinds):
                    add(kind, child_path)
                if is_secret_key(key) and _present(child):
                    add("secret_field", child_path)
                else:
                    children.append((child, child_path, depth + 1))
            stack.extend(reversed(children))
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(reversed([(child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item)]))
    return findings


def describe_secrets(findings: Iterable[SecretFinding]) -> str:
    """The findings as one line of kinds and fields, without values.

    Example:
        >>> describe_secrets([SecretFinding("secret_field", "token"), SecretFinding("known_secret", "")])
        "a secret field in 'token'; a configured secret in the text"
    """
    entries = list(dict.fromkeys(f.describe() for f in findings))
    shown = entries[:10]
    return "; ".join(shown) + ("; and more" if len(entries) > len(shown) else "")


def refuse_secrets(value: Any, known: Iterable[str] = ()) -> None:
    """Raise :class:`~agent_billing.errors.SecretRefusedError` if ``value`` holds a secret.

    The message names kinds and fields only; no frame of the traceback holds ``value``.

    Example:
        >>> refuse_secrets({"name": "Ada"}, known=["sk_sandbox_test"])
        >>> try:
        ...     refuse_secrets({"note": "my key is sk_live_abcdefgh123"})
        ... except SecretRefusedError as exc:
        ...     print(exc.code, exc.message.split(" Found: ")[-1])
        secret_not_allowed a secret-looking value in 'note'.
    """
    findings = find_secrets(value, known)
    del value, known  # the traceback keeps this frame: it must not keep the secret
    if findings:
        raise _secret_refusal(findings) from None


def _secret_refusal(findings: list[SecretFinding]) -> SecretRefusedError:
    details = {"findings": [{"kind": f.kind, "path": f.path} for f in findings]}
    return SecretRefusedError(f"{SECRET_REFUSAL_MESSAGE} Found: {describe_secrets(findings)}.", details=details)
