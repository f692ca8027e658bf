"""Secret redaction for everything that leaves the process: LLM requests, diagnoses, notices, API, logs.

Secrets are found three ways, in this order:

1. by structure that spans lines: PEM bodies (also when every line carries a log prefix), the values of
   a Kubernetes Secret's `data`/`stringData` (YAML or JSON), and JSON strings with escaped newlines
   (decoded, redacted, re-encoded);
2. by known token formats (AWS, GitHub, GitLab, Slack, Vault, ...), webhook URLs, credentials in URLs
   and command lines, password hashes and `.pgpass` lines;
3. by position: the value of any key, env var or header whose name looks secret (`DB_PASS`, `pw`,
   `SMTP_CREDENTIALS`, `X-Auth-Token`, `routing_key`, ...), and long random base64 blobs.

Every secret becomes `[REDACTED:<kind>]`, the text around it stays. Redaction is idempotent.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage

from opsagent.agent.diagnosis import Diagnosis
from opsagent.incidents.models import Alert

__all__ = [
    "RedactionResult",
    "bound_text",
    "redact",
    "redact_diagnosis",
    "redact_messages",
    "redact_text",
    "secret_key_kind",
]

# Every regex here must stay linear on hostile input (Python's `re` backtracks): each pattern starts at a
# literal or behind a negative lookbehind of its own first class (so a run is entered once, not at every
# offset), unbounded repeats are possessive (`*+`, `++`) so a failed attempt cannot re-scan its run, and
# lazy gaps are bounded (`{0,200}?`).

_PLACEHOLDER_RE = re.compile(r"\[REDACTED:[a-z0-9_]+\]")
# Values that are not secrets: earlier redactions, templates, masks, shell substitutions, nulls.
_SKIP = r"(?!\[REDACTED|\$\{|\$\(|\{\{|<|\*{3}|=|(?:null|none|nil|true|false|undefined)(?![\w-]))"
# A value after `key=` / `key: ` / `"key": ` in logfmt, env, YAML, JSON, escaped JSON, DSN and Go/Java dumps.
_VALUE = (
    r"(?:(?:bearer|basic)[ \t]++)?"
    rf"(?:\\++\"(?P<esc>{_SKIP}[^\"\\\n]++)"
    rf"|\"(?P<dq>{_SKIP}(?:[^\"\\\n]|\\.)++)"
    rf"|'(?P<sq>{_SKIP}[^'\n]++)"
    rf"|(?P<bare>{_SKIP}(?!\\[\"'])[^\s\"',;&`]++))"
)
_SECRET_GROUPS = ("secret", "esc", "dq", "sq", "bare")
_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


@dataclass(frozen=True)
class RedactionResult:
    """Redacted text plus how many secrets of each kind were replaced."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Number of secrets replaced."""
        return sum(self.counts.values())


def _placeholder(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def _entropy(value: str) -> float:
    freq = Counter(value).values()
    return -sum(n / len(value) * math.log2(n / len(value)) for n in freq) if value else 0.0


def _looks_random(value: str) -> bool:
    """A cheap entropy test so `sk-learn-compatibility-layer` is not taken for an API key."""
    digits = sum(c.isdigit() for c in value)
    letters = sum(c.isalpha() for c in value)
    return digits >= 2 and letters >= 2 and _entropy(value) >= 3.0


def _random_token(value: str, min_len: int = 20) -> bool:
    """Long, random and free of the separators cache keys and paths have (`user:42`, `a/b.txt`)."""
    return (
        len(value) >= min_len
        and re.fullmatch(r"[A-Za-z0-9+/=_-]++", value) is not None
        and _looks_random(value)
        and _entropy(value) >= 3.5
    )


def _word_like(value: str) -> bool:
    """`success`, `Failed`, `require_and_verify`: a status word, not a credential."""
    parts = re.split(r"[_-]", value)
    return all(p.isalpha() and (p.islower() or p.isupper() or p[1:].islower()) for p in parts)


def _password_like(value: str) -> bool:
    """Mixed letters and digits or symbols, not a word, path, number or placeholder."""
    value = value.rstrip(".:!?")
    if len(value) < 6 or _word_like(value) or value.startswith(("/", "$", "<", "[", "{")):
        return False
    letters = sum(c.isalpha() for c in value)
    others = len(value) - letters
    return letters >= 2 and others >= 1 and not value.replace(".", "").replace("-", "").isdigit()


def _base64_text(value: str) -> bool:
    """Whether `value` is base64 of printable text (a Secret's data), not a word like `INFO` or `postgres`."""
    if len(value) < 4 or len(value) % 4 or not set(value) <= _BASE64_CHARS:
        return False
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in decoded)


# --- names that look secret ---------------------------------------------------------------------------

_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_KEY_QUALIFIERS = (
    "api|access|app|application|client|account|shared|preshared|master|license|licence|subscription|"
    "storage|deploy|ssh|tls|ssl|hmac|jwt|session|admin|root|write|ingest|encryption|encrypt|signing|sign|"
    "private|priv|secret|crypt|crypto|cipher|aes|gpg|pgp|rsa|webhook|bot|auth|consumer|developer|user"
)
# (kind, pattern on the normalised name, how sure): "strong" redacts any value; "prose" skips a lone
# word after `name: ` (`token: context deadline exceeded`); "auth" skips status words; "random" and
# "webhook" need a random-looking value; "url" leaves URLs to the URL rules.
_NAME_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (kind, re.compile(pattern), how)
    for kind, pattern, how in (
        ("aws_secret_access_key", r"(?:aws_?)?secret_?access_?key$|aws_?secret_?key$", "strong"),
        ("aws_session_token", r"aws_?session_?token$", "strong"),
        ("password", r"(?:password|passwd|passphrase|passwort|pwd|pw)$|(?:^|_)pass$", "strong"),
        ("private_key", r"key_?data$|private_?key$", "strong"),
        ("api_key", r"(?:api|access)_?key$", "prose"),
        ("routing_key", r"(?:routing|integration|service)_?key$", "random"),
        ("secret", rf"secret$|(?:^|_)(?:{_KEY_QUALIFIERS})_?key$", "prose"),
        ("token", r"token$", "prose"),
        ("credential", r"(?:credentials?|creds?)$", "prose"),
        ("cookie", r"cookie$", "prose"),
        ("dsn", r"dsn$|conn(?:ection)?_?str(?:ing)?$", "url"),
        ("webhook", r"webhook(?:_?(?:url|uri))?$", "webhook"),
        ("auth", r"(?:^|_)auth$", "auth"),
        ("secret", r"(?:^|_)key$", "random"),
    )
)
# Keys that identify things rather than unlock them (`idempotency_key`, `cache_key`, `partition_key`).
_ID_KEY_RE = re.compile(
    r"(?:^|_)(?:idempotency|idem|cache|partition|primary|foreign|sort|object|dedup|dedupe|s3|shard|hash|row|"
    r"lookup|map|message|event|request|trace|span|group|index|cursor|page|sequence|lock|bucket|queue|topic|"
    r"record|entity|search|unique|composite|natural|surrogate|ordering|grouping|join|ref|reference)_key$"
)
# Values that stand for a secret without being one: shell and template references, elisions, masks.
_REFERENCE_RE = re.compile(
    r"(?:\w++=)?(?:\$\{?[A-Za-z_]\w*+\}?|(?i:password|passwd|pass|secret|token|redacted)|\.{3}|…|<[^<>\n]{1,60}>|\{\{[^{}\n]{1,60}\}\}|x{3,}|X{3,}|\*++)"
)
# After a lone word, more prose (`ExpiredToken: The security token ...`, `Secret = the value of ...`).
_PROSE_AFTER_RE = re.compile(r" [A-Za-z][A-Za-z]*+(?:[ ,.;)]|$)")
# `token = get_token()`, `secret = base64.b64decode(...)`: code, not a value.
_CALL_RE = re.compile(r"[A-Za-z_][\w.]*+\(.*")
_HEX32_RE = re.compile(r"[0-9a-f]{32}")  # PagerDuty routing and integration keys
# `secret=auth/auth-service-tls`: a reference to a Kubernetes Secret (namespace/name), not its content.
_OBJECT_REF_RE = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?/[a-z0-9](?:[-.a-z0-9]*[a-z0-9])?")


def _normalise_name(name: str) -> str:
    name = _CAMEL_RE.sub("_", name.strip("\"'\\ \t-"))
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _classify(name: str) -> tuple[str, str] | None:
    norm = _normalise_name(name)
    if (
        not norm
        or norm.endswith(("_id", "_name", "_url", "_uri", "_file", "_path", "_ref"))
        and not (re.search(r"webhook_?(?:url|uri)$", norm))
    ):
        return None
    for kind, pattern, how in _NAME_RULES:
        if pattern.search(norm):
            return kind, how
    return None


def secret_key_kind(name: str, value: str = "") -> str | None:
    """The redaction kind when `value` under the key/env/header `name` is a secret, else None.

    `max_tokens`, `keyspace`, `password_reset_url`, `auth_method` and `key=orders-123` are not secrets;
    `DB_PASS`, `pw`, `SMTP_CREDENTIALS`, `X-Auth-Token`, `SLACK_WEBHOOK` and a random `routing_key` are.
    """
    found = _classify(name)
    if found is None:
        return None
    kind, how = found
    value = value.strip()
    if not value or "[REDACTED" in value or value.startswith("-----"):
        return None  # nothing left, already redacted, or a PEM header (the PEM rules take the body)
    if value.startswith(("/", "~/", "./")) and kind in ("password", "secret", "private_key", "api_key"):
        return None  # `PWD=/home/app`, `ssh_key=/etc/ssh/id_rsa`: a path, not the key itself
    if how == "random" and (
        not (_random_token(value) or _HEX32_RE.fullmatch(value)) or _ID_KEY_RE.search(_normalise_name(name))
    ):
        return None
    if _normalise_name(name) == "secret" and _OBJECT_REF_RE.fullmatch(value) and not _looks_random(value):
        return None
    if how == "auth" and (_word_like(value) or len(value) < 6):
        return None
    if how == "url" and ("://" in value or "=" in value or "@" in value):
        return None  # URL, `k=v;` and `user:pass@tcp()` rules keep the host and take only the password
    if how == "webhook" and not re.search(r"[A-Za-z0-9_-]{16,}", value):
        return None
    if kind == "password" and _normalise_name(name).endswith("pass") and value.isdigit():
        return None  # `pass=12 fail=0`: a test summary
    return kind


# --- rules ----------------------------------------------------------------------------------------------

Check = Callable[[re.Match[str]], str | None]


@dataclass(frozen=True)
class _Rule:
    """A regex whose group `secret` (or a quoting-style group of `_VALUE`) is the secret.

    `kind` is the redaction kind, or a function of the match returning it (None: not a secret).
    `triggers` are lowercase substrings one of which must be in the text for the rule to run at all:
    skipping rules cheaply is what keeps redaction fast on ordinary log lines.
    """

    kind: str | Check
    pattern: re.Pattern[str]
    triggers: tuple[str, ...] | Callable[[str], bool] = ()
    # Yields the matches instead of `pattern.finditer` (a faster search that ends in `pattern.match`).
    finder: Callable[[str], Iterator[re.Match[str]]] | None = None

    def wanted(self, text: str, low: str) -> bool:
        """Whether the text can hold what this rule looks for."""
        if callable(self.triggers):
            return self.triggers(text)
        return not self.triggers or any(t in low for t in self.triggers)


def _secret_group(m: re.Match[str]) -> str:
    """Name of the group holding the secret (value patterns have one group per quoting style)."""
    groups = m.groupdict()
    return next(n for n in _SECRET_GROUPS if groups.get(n) is not None)


def _token(
    kind: str, pattern: str, triggers: tuple[str, ...], check: Callable[[str], bool] | None = None
) -> _Rule:
    """A known token format: `pattern` is the whole token, bounded by non-token characters."""
    regex = re.compile(rf"(?<![\w-])(?P<secret>{pattern})(?![\w-])")
    if check is None:
        return _Rule(kind, regex, triggers)
    return _Rule(lambda m: kind if check(m["secret"]) else None, regex, triggers)


def _kv_kind(m: re.Match[str]) -> str | None:
    name = m["name"]
    value = m[_secret_group(m)]
    kind = secret_key_kind(name, value)
    if kind is None:
        return None
    found = _classify(name)
    # A bare word after `name: ` with no prefix is prose (`token: context deadline exceeded`); `=`,
    # quotes, a prefixed name (`DB_TOKEN`) or a value with digits mean an assignment.
    if (
        found
        and found[1] == "prose"
        and m["bare"] is not None
        and m["sep"] == ":"
        and "_" not in _normalise_name(name)
        and not any(c.isdigit() for c in value)
        and len(value) < 16
    ):
        return None
    if (
        m["bare"] is not None
        and (value.isalpha() or value.isdigit())
        and _PROSE_AFTER_RE.match(m.string, m.end())
    ):
        return None  # a sentence, not an assignment
    if m["bare"] is not None and _CALL_RE.fullmatch(value):
        return None
    if (
        found
        and found[1] == "prose"
        and re.fullmatch(r"[a-z]{2,}+(?:-[a-z0-9]{2,}+)++", value.rstrip(")]}.,"))
        and not _looks_random(value)
    ):
        return None  # `externalsecret=inventory-db-credentials`: the name of a Secret object
    if value.isdigit() and m.string.startswith(" bytes", m.end()):
        return None  # `kubectl describe secret`: `password:  16 bytes` is a size, not the password
    return kind


def _auth_kind(m: re.Match[str]) -> str | None:
    scheme = (m["scheme"] or "").lower()
    value = m["secret"]
    if not scheme and not any(c.isdigit() for c in value) and len(value) < 16 and _word_like(value):
        return None  # `authorization: failed`
    return {"bearer": "bearer_token", "basic": "basic_auth"}.get(scheme, "authorization")


def _near_aws_key_id(m: re.Match[str]) -> str | None:
    """A bare 40-character AWS secret key: random, mixed case, and next to an access key id."""
    value = m["secret"]
    if not (any(c.isupper() for c in value) and any(c.islower() for c in value)):
        return None  # git SHAs and other hex digests
    if not any(c.isdigit() or c in "+/" for c in value) or _entropy(value) < 4.0:
        return None
    text = m.string
    window = text[max(0, m.start() - 300) : m.end() + 300]
    if _AWS_KEY_ID_RE.search(window) or "[REDACTED:aws_access_key_id]" in window:
        return "aws_secret_access_key"
    return None


def _blob_kind(m: re.Match[str]) -> str | None:
    """A standalone random base64 run of 40+ characters: key material (a PEM body line on its own, a
    Secret value) far more often than anything a diagnosis needs."""
    value = m["secret"].rstrip("=")
    if not (any(c.isupper() for c in value) and any(c.islower() for c in value)):
        return None
    if sum(c.isdigit() for c in value) < 2 or _entropy(value) < 4.3:
        return None
    return "high_entropy"


# How a name that may hold a secret ends; `_classify` then decides on the whole name.
_NAME_ENDINGS = (
    r"pass(?:word|wd|phrase|wort)?|pwd|pw|secret|token|key|key[_.-]?data|creds?|credentials?|auth|cookie|"
    r"dsn|webhook(?:[_-]?ur[li])?|conn(?:ection)?[_-]?str(?:ing)?"
)
_KV_RE = re.compile(
    rf"(?P<name>[\w.-]*?(?:{_NAME_ENDINGS}))(?:\\*+[\"'])?[ \t]*+(?P<sep>:=|=>|[:=])[ \t]*+{_VALUE}",
    re.IGNORECASE,
)
# Case-insensitive regexes are ~10x slower in `re`: find the name endings in lowercased text first.
_KV_HINT_RE = re.compile(rf"(?:{_NAME_ENDINGS})(?:\\*+[\"'])?[ \t]*+(?::=|=>|[:=])")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _key_values(text: str) -> Iterator[re.Match[str]]:
    """`name=value` / `name: value` / `"name": "value"` where the name ends like a secret's."""
    low = text.translate(_ASCII_LOWER)  # same length as text, unlike str.lower() on some scripts
    seen = -1
    for hint in _KV_HINT_RE.finditer(low):
        start = hint.start()
        while start > 0 and text[start - 1] in _NAME_CHARS:
            start -= 1
        if start < seen:
            continue  # inside the previous match (its name or its value)
        m = _KV_RE.match(text, start)
        seen = start + 1
        if m is not None:
            seen = m.end()
            yield m


_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BASE64_RUN = bytes(ord("a") if c in _B64 else ord(" ") for c in range(256))


def _has_base64_run(text: str, length: int = 40) -> bool:
    """Whether `text` has `length` base64 characters in a row (a C-speed check before the regex)."""
    return b"a" * length in text.encode("utf-8", "replace").translate(_BASE64_RUN)


_PGPASS_HINT_RE = re.compile(r":(?:\d++|\*):[^\s:]++:[^\s:]++:")


_AWS_KEY_ID = r"(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASCA|ABIA|ACCA)[A-Z0-9]{16}"
_AWS_KEY_ID_RE = re.compile(rf"(?<![A-Za-z0-9]){_AWS_KEY_ID}(?![A-Za-z0-9])")
_AUTH_SCHEMES = r"bearer|basic|token|digest|negotiate|ssws|apikey|api-key|key|geniekey|splunk|dsn|hmac"

_RULES: tuple[_Rule, ...] = (
    # JSON-escaped service-account keys first: the PEM rule would otherwise eat only part of the string.
    _Rule(
        "gcp_private_key",
        re.compile(rf"\"private_key\"[ \t]*+:[ \t]*+\"(?P<secret>{_SKIP}(?:[^\"\\\n]|\\.)++)"),
        ("private_key",),
    ),
    _Rule(
        # The END line is optional (log lines get cut short); base64 runs tell a key from runbook prose.
        lambda m: "private_key" if max(map(len, m["secret"].split()), default=0) >= 32 else None,
        re.compile(
            r"-----BEGIN [A-Z0-9 ]{0,40}?PRIVATE KEY(?: BLOCK)?-----"
            r"(?P<secret>(?!\s*+\[REDACTED)(?:[A-Za-z0-9+/=\s\\:,]|-(?!----))++)"
            r"(?:-----END [A-Z0-9 ]{0,40}?PRIVATE KEY(?: BLOCK)?-----)?"
        ),
        ("private key",),
    ),
    _Rule(
        "private_key",
        re.compile(r"Private-Lines:[ \t]*+\d++\r?\n(?P<secret>(?:[A-Za-z0-9+/=]++\r?\n?)++)"),
        ("private-lines",),
    ),
    # --- webhook URLs: the path is the credential ---
    _Rule(
        "slack_webhook",
        re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9/_-]{10,}+)"),
        ("hooks.slack.com",),
    ),
    _Rule(
        "discord_webhook",
        re.compile(r"discord(?:app)?\.com/api/(?:v\d+/)?webhooks/(?P<secret>\d++/[\w-]++)", re.IGNORECASE),
        ("discord",),
    ),
    _Rule(
        "teams_webhook",
        re.compile(r"\.office\.com/webhook(?:b2)?/(?P<secret>[^\s\"'<>]++)", re.IGNORECASE),
        ("office.com/webhook",),
    ),
    _Rule(
        "telegram_token",
        re.compile(r"api\.telegram\.org/bot(?P<secret>\d{6,12}:[\w-]{30,}+)"),
        ("telegram",),
    ),
    # --- known token formats ---
    _Rule(
        _near_aws_key_id,
        re.compile(r"(?<![A-Za-z0-9+/])(?P<secret>[A-Za-z0-9+/]{40})(?![A-Za-z0-9+/=])"),
        ("akia", "asia", "agpa", "aida", "aroa", "aipa", "anpa", "anva", "asca", "abia", "acca"),
    ),
    _token(
        "aws_access_key_id",
        _AWS_KEY_ID,
        ("akia", "asia", "agpa", "aida", "aroa", "aipa", "anpa", "anva", "asca", "abia", "acca"),
    ),
    _Rule(
        "azure_key",
        re.compile(
            rf"(?<!\w)(?:AccountKey|SharedAccessKey|SharedAccessSignature)[ \t]*+=[ \t]*+"
            rf"(?P<secret>{_SKIP}[^;\s\"']++)",
            re.IGNORECASE,
        ),
        ("accountkey", "sharedaccess"),
    ),
    _Rule("azure_key", re.compile(r"(?<!\w)sig=(?P<secret>[A-Za-z0-9%+/=]{16,}+)"), ("sig=",)),
    _token("azure_client_secret", r"[\w~.]{3}\dQ~[\w~.-]{31,34}", ("q~",)),
    _token("github_token", r"gh[pousr]_[A-Za-z0-9]{30,}+|github_pat_\w{30,}+", ("gh", "github_pat_")),
    _token(
        "gitlab_token",
        r"gl(?:pat|dt|rt|ptt|ft|imt|agent|oas|soat|cbt|ffct)-[\w-]{20,}+|GR1348941[\w-]{20,}+",
        ("gl", "gr1348941"),
    ),
    _token(
        "slack_token",
        r"xox[abeprs](?:-|\.xox[bp]-)[A-Za-z0-9-]{10,}+|xapp-\d-[A-Za-z0-9-]{20,}+",
        ("xox", "xapp-"),
    ),
    _token(
        "stripe_key",
        r"[sr]k_(?:live|test)_[A-Za-z0-9]{16,}+|whsec_[A-Za-z0-9]{24,}+",
        ("k_live_", "k_test_", "whsec_"),
    ),
    _token("google_api_key", r"AIza[A-Za-z0-9_-]{35}", ("aiza",)),
    _token("gcp_oauth_token", r"ya29\.[\w-]{20,}+|1//0[\w-]{30,}+", ("ya29.", "1//0")),
    _token("google_client_secret", r"GOCSPX-[\w-]{24,}+", ("gocspx-",)),
    _token("anthropic_key", r"sk-ant-(?:api|admin|oat)\d\d-[\w-]{40,}+", ("sk-ant-",)),
    _token("openai_key", r"sk-[A-Za-z0-9_-]{20,}+", ("sk-",), check=lambda s: _looks_random(s[3:])),
    _token("sendgrid_key", r"SG\.[\w-]{16,32}\.[\w-]{30,50}", ("sg.",)),
    _token("vault_token", r"hv[sbr]\.[\w-]{20,}+", ("hvs.", "hvb.", "hvr.")),
    _token("npm_token", r"npm_[A-Za-z0-9]{36}", ("npm_",)),
    _token("pypi_token", r"pypi-AgEIcHlwaS5vcmc[\w-]{50,}+", ("pypi-",)),
    _token("docker_token", r"dckr_(?:pat|oat)_[\w-]{20,}+", ("dckr_",)),
    _token("digitalocean_token", r"do[opr]_v1_[a-f0-9]{64}", ("_v1_",)),
    _token("shopify_token", r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", ("shp",)),
    _token("mailgun_key", r"key-[0-9a-f]{32}", ("key-",)),
    _token("mailchimp_key", r"[0-9a-f]{32}-us\d{1,2}", ("-us",)),
    _token("twilio_key", r"SK[0-9a-fA-F]{32}", ("sk",), check=lambda s: _looks_random(s[2:])),
    _token("newrelic_key", r"NR(?:AK|JS|II)-[A-Z0-9]{27}", ("nrak-", "nrjs-", "nrii-")),
    _token("sentry_token", r"sntry[su]_[\w=+/-]{40,}+", ("sntr",)),
    _token("linear_key", r"lin_(?:api|oauth)_[A-Za-z0-9]{40}", ("lin_",)),
    _token(
        "grafana_token",
        r"glc_[A-Za-z0-9+/]{32,}+={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}",
        ("glc_", "glsa_"),
    ),
    _token("postman_key", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}", ("pmak-",)),
    _token("huggingface_token", r"hf_[A-Za-z]{34,}+", ("hf_",)),
    _token("age_secret_key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}", ("age-secret-key",)),
    _token("terraform_token", r"[a-z0-9]{14}\.atlasv1\.[\w-]{60,}+", ("atlasv1",)),
    _token("databricks_token", r"dapi[a-f0-9]{32}(?:-\d)?", ("dapi",)),
    _token("doppler_token", r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}+", ("dp.",)),
    _token("pulumi_token", r"pul-[a-f0-9]{40}", ("pul-",)),
    _token("fly_token", r"fo1_[\w-]{40,}+", ("fo1_",)),
    _token("atlassian_token", r"ATATT3[\w=-]{100,}+", ("atatt3",)),
    _token("square_token", r"sq0(?:atp|csp)-[\w-]{22,}+|EAAA[\w-]{60}", ("sq0", "eaaa")),
    _token("alibaba_key", r"LTAI[A-Za-z0-9]{20}", ("ltai",)),
    _token("artifactory_key", r"AKCp[A-Za-z0-9]{60,}+", ("akcp",)),
    _token("dropbox_token", r"sl\.[\w-]{130,}+", ("sl.",)),
    _token("cloudflare_key", r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}", ("v1.0-",)),
    _token("jwt", r"eyJ[\w-]{5,}+\.eyJ[\w-]{5,}+\.[\w-]*+", ("eyj",)),
    # --- headers and schemes ---
    _Rule(
        _auth_kind,
        re.compile(
            r"(?<![\w-])(?:proxy-)?authorization(?:\\?[\"'])?[ \t]*+[:=][ \t]*+(?:\\?[\"'])?"
            rf"(?:(?P<scheme>{_AUTH_SCHEMES})[ \t]++)?"
            rf"(?P<secret>{_SKIP}(?!(?:bearer|basic)(?![\w-]))[^\s\"',;)}}\]>]++)",
            re.IGNORECASE,
        ),
        ("authorization",),
    ),
    _Rule(
        # "Bearer authentication failed" is prose; real tokens are long or contain digits.
        lambda m: "bearer_token" if any(c.isdigit() for c in m["secret"]) or len(m["secret"]) >= 20 else None,
        re.compile(r"(?<![\w-])bearer[ \t]++(?P<secret>(?!\[REDACTED)[A-Za-z0-9._~+/-]++=*+)", re.IGNORECASE),
        ("bearer",),
    ),
    # scheme://user:PASSWORD@host — greedy up to the last `@` of the authority, as URL parsers do.
    _Rule(
        "password",
        re.compile(
            r"(?<![\w+.-])[a-z][a-z0-9+.-]*+://(?!\[REDACTED)[^\s:/@?#\"'<>]*+:"
            # `#` is allowed: an unencoded one in a password is common and the `@` still ends it.
            r"(?P<secret>(?!\[REDACTED|\$\{|\{\{|\*{3})[^\s/?\"'<>]+)@",
            re.IGNORECASE,
        ),
        ("://",),
    ),
    # scheme://TOKEN@host (Sentry DSNs, git remotes with a token as the user): only random-looking users.
    _Rule(
        lambda m: "url_token" if _random_token(m["secret"], 16) else None,
        re.compile(r"(?<![\w+.-])[a-z][a-z0-9+.-]*+://(?P<secret>[A-Za-z0-9_~.%+-]{16,}+)@", re.IGNORECASE),
        ("://",),
    ),
    # Go MySQL DSNs: user:PASSWORD@tcp(host:3306)/db
    _Rule(
        "password",
        re.compile(r"(?<![\w.\[-])[\w.-]++:(?P<secret>[^\s@/:\"']++)@(?:tcp|unix)\("),
        ("@tcp(", "@unix("),
    ),
    # --- command lines ---
    _Rule(
        "password",
        re.compile(
            r"(?<![\w-])(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mariadb|mariadb-dump)"
            r"(?:\.exe)?[ \t][^\n|;&]{0,200}?(?<=[ \t])-p(?P<secret>'[^'\n]*+'|\"[^\"\n]*+\"|[^\s'\"]++)"
        ),
        ("mysql", "mariadb"),
    ),
    _Rule(
        "password",
        re.compile(
            r"(?<![\w-])sshpass[ \t]++(?:-[a-oq-zA-Z]\S*+[ \t]++)*-p[ \t]*+(?P<secret>'[^'\n]*+'|\S++)"
        ),
        ("sshpass",),
    ),
    _Rule(
        "password",
        re.compile(
            r"(?<![\w-])(?:curl|wget|http)\b[^\n|;&]{0,300}?[ \t](?:-u|--user|--http-password=?)[ \t]*+"
            r"['\"]?[^\s:'\"]*+:(?P<secret>[^\s'\"@]++)"
        ),
        ("curl", "wget", "http -", "http --"),
    ),
    _Rule(
        "password",
        re.compile(
            r"(?<![\w-])(?:redis-cli[^\n|;&]{0,200}?[ \t](?:-a|--pass)|ldap\w*+[^\n|;&]{0,200}?[ \t]-w|"
            r"docker[ \t]++login[^\n|;&]{0,200}?[ \t]-p|requirepass|masterauth)[ \t]++"
            r"(?P<secret>'[^'\n]*+'|\"[^\"\n]*+\"|\S++)"
        ),
        ("redis-cli", "ldap", "docker", "requirepass", "masterauth"),
    ),
    _Rule(
        "password",
        re.compile(r"(?<![\w-])htpasswd[ \t]++-\w*?b\w*+[ \t]++\S++[ \t]++\S++[ \t]++(?P<secret>\S++)"),
        ("htpasswd",),
    ),
    _Rule(
        "password",
        re.compile(r"(?<!\w)machine[ \t]++\S++(?:\s++login\s++\S++)?\s++password[ \t]++(?P<secret>\S++)"),
        ("machine",),
    ),
    # Prose that quotes a password after the word: "the old password Vq8!mZr2Lw" (a model obeying an
    # injected "copy the credentials" does this); only password-looking words, never "password expired".
    _Rule(
        lambda m: "password" if _password_like(m["secret"]) else None,
        re.compile(
            r"(?<![\w-])(?:password|passwd|passphrase)(?:[ \t]++(?:is|was|of|to|as))?[ \t]++"
            r"(?P<secret>[^\s\"'`,;()\[\]]++)",
            re.IGNORECASE,
        ),
        ("pass",),
    ),
    # --- stored credentials ---
    _Rule(
        "password_hash",
        re.compile(
            r"(?<![\w$])(?P<secret>\$(?:apr1|1|5|6|md5)\$[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{20,}+"
            r"|\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}"
            r"|\$y\$[./A-Za-z0-9]++\$[./A-Za-z0-9]++\$[./A-Za-z0-9]{20,}+"
            r"|\$argon2(?:id|i|d)\$v=\d++\$m=\d++,t=\d++,p=\d++\$[A-Za-z0-9+/]++\$[A-Za-z0-9+/]++"
            r"|\{S?SHA\}[A-Za-z0-9+/]{20,}+={0,2})"
        ),
        ("$", "{sha}", "{ssha}"),
    ),
    # .pgpass: host:port:database:user:password, one per line.
    _Rule(
        "password",
        # Whole fields only (start of line, after a space or a quote); the user has a letter, so a run of
        # numbers such as `12:30:45:123:456` is not taken for one.
        re.compile(
            r"(?<![^\s\"'>])[^\s:#\"']++:(?:\d++|\*):[^\s:\"']++:(?=[^\s:\"']*?[A-Za-z])[^\s:\"']++:"
            r"(?P<secret>(?:[^\s:\"'\\]|\\.)++)(?=[\s\"']|$)"
        ),
        lambda text: _PGPASS_HINT_RE.search(text) is not None,
    ),
    # --- by position: keys, env vars, headers and flags whose name looks secret ---
    _Rule(
        _kv_kind,
        _KV_RE,
        ("pass", "pw", "secret", "token", "key", "cred", "auth", "cookie", "dsn", "webhook", "conn"),
        finder=lambda text: _key_values(text),
    ),
    # CLI flags with a space: `--password hunter2`, `--token abc` (`--password=x` is the key=value rule).
    _Rule(
        lambda m: secret_key_kind(m["kw"], m[_secret_group(m)]) or None,
        re.compile(
            r"(?<![\w-])--(?P<kw>[\w-]*?(?:password|passwd|pass|pwd|token|secret|api-?key|credentials?))"
            rf"[ \t]++{_VALUE}",
            re.IGNORECASE,
        ),
        ("--",),
    ),
    _Rule(
        _blob_kind,
        re.compile(r"(?<![A-Za-z0-9+/=._~-])(?P<secret>[A-Za-z0-9+/]{40,}+={0,2})(?![A-Za-z0-9+/=._~-])"),
        _has_base64_run,
    ),
)


def _apply_rule(rule: _Rule, text: str, counts: Counter[str]) -> str:
    """Replace each match's secret group. The group may sit in a lookahead past the match's end (the
    key=value rule matches only `name=`, so a value that is not a secret is still scanned for keys)."""
    pieces: list[str] = []
    last = 0
    for m in rule.finder(text) if rule.finder else rule.pattern.finditer(text):
        name = _secret_group(m)
        value = m.group(name)
        start, end = m.span(name)
        if start < last or not value.strip() or value.lstrip().startswith("[REDACTED"):
            continue
        if _REFERENCE_RE.fullmatch(value.strip().strip("\"'")):
            continue  # `$DB_PASS`, `${TOKEN}`, `...`, `<token>`: documentation, not a secret
        kind = rule.kind if isinstance(rule.kind, str) else rule.kind(m)
        if kind is None:
            continue
        # Keep the whitespace around the secret (PEM line breaks) so the layout stays readable.
        start += len(value) - len(value.lstrip())
        end -= len(value) - len(value.rstrip())
        counts[kind] += 1
        pieces += [text[last:start], _placeholder(kind)]
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


# --- multi-line structure -------------------------------------------------------------------------------

_PEM_BEGIN_RE = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}?PRIVATE KEY(?: BLOCK)?-----")
_PEM_HEADER_RE = re.compile(r"(?:Proc-Type|DEK-Info|Comment|Version|Hash)[ \t]*+:")
_LAST_TOKEN_RE = re.compile(r"(?P<secret>[A-Za-z0-9+/]++={0,2})[ \t\r]*+$")


def _pem_lines(text: str, counts: Counter[str]) -> str:
    """PEM bodies logged one line per log line: each line has its own prefix (`ts pod: MIIE...`), so the
    BEGIN header and the body are never adjacent. Redact the trailing base64 of the lines that follow."""
    lines = text.split("\n")
    i, changed = 0, False
    while i < len(lines):
        begin = _PEM_BEGIN_RE.search(lines[i])
        i += 1
        if begin is None or "-----END" in lines[i - 1][begin.end() :]:
            continue
        redacted = False
        for j in range(i, min(len(lines), i + 400)):
            line = lines[j]
            if "-----END" in line:
                i = j + 1
                break
            m = _LAST_TOKEN_RE.search(line)
            next_is_end = j + 1 < len(lines) and "-----END" in lines[j + 1]
            if m is not None and (len(m["secret"]) >= 40 or next_is_end):
                lines[j] = line[: m.start()] + _placeholder("private_key") + line[m.end("secret") :]
                redacted = changed = True
            elif not (not line.strip() or _PEM_HEADER_RE.search(line)):
                i = j
                break
        else:
            i = min(len(lines), i + 400)
        if redacted:
            counts["private_key"] += 1
    return "\n".join(lines) if changed else text


_DATA_LINE_RE = re.compile(
    r"^(?P<indent>[ \t]*+)(?P<dash>-[ \t]++)?(?P<key>data|stringData)[ \t]*+:[ \t]*+"
    r"(?P<rest>[^#\n]*?)[ \t]*+(?:#.*+)?$"
)
_SIBLING_RE = re.compile(
    r"^(?P<indent>[ \t]*+)(?P<dash>-[ \t]++)?(?P<key>[\w.-]++)[ \t]*+:[ \t]*+(?P<value>.*)$"
)
_ENTRY_RE = re.compile(
    r"^(?P<lead>[ \t]*+(?:\"[^\"\n]*+\"|'[^'\n]*+'|[^\s:#][^:\n]*?)[ \t]*+:)"
    r"(?:(?P<gap>[ \t]++)(?P<value>.*?))?[ \t\r]*+$"
)
_FLOW_ENTRY_RE = re.compile(r"(?P<key>[^\s:,{}]++)[ \t]*+:[ \t]*+(?P<value>[^,{}\s]++)")
_BLOCK_SCALAR_RE = re.compile(r"[|>][+-]?\d?")


def _mapping_kinds(lines: list[str]) -> list[str | None]:
    """For each line, the `kind` of the YAML mapping it belongs to (`Secret` also when only a Secret's
    `type:` is there), or None. One pass with a stack of open mappings, so it stays linear."""
    ids: list[int] = []
    kinds: dict[int, str] = {}
    stack: list[tuple[int, int]] = []  # (column, mapping id)
    next_id = 0
    for line in lines:
        m = _SIBLING_RE.match(line)
        if m is None or not line.strip() or line.lstrip().startswith("#"):
            ids.append(stack[-1][1] if stack else -1)
            continue
        column = len(m["indent"]) + len(m["dash"] or "")
        while stack and stack[-1][0] > column:
            stack.pop()
        if m["dash"] or not stack or stack[-1][0] < column:
            if stack and stack[-1][0] == column:
                stack.pop()  # the next list item: a new mapping at the same column
            next_id += 1
            stack.append((column, next_id))
        mapping = stack[-1][1]
        ids.append(mapping)
        value = m["value"].strip().strip("\"'")
        if m["key"] == "kind":
            kinds[mapping] = value
        elif m["key"] == "type" and (value == "Opaque" or value.startswith("kubernetes.io/")):
            kinds.setdefault(mapping, "Secret")
    return [kinds.get(i) for i in ids]


def _yaml_secret_data(text: str, counts: Counter[str]) -> str:
    """Values of a Kubernetes Secret's `data:`/`stringData:` under any key (`DATABASE_URL`, `tls.key`,
    `.dockerconfigjson`). A ConfigMap's `data:` stays; with no `kind:` in sight, base64 text goes."""
    lines = text.split("\n")
    kinds: list[str | None] | None = None
    changed = False
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        m = _DATA_LINE_RE.match(line)
        if m is None:
            continue
        if kinds is None:
            kinds = _mapping_kinds(lines)
        column = len(m["indent"]) + len(m["dash"] or "")
        kind = kinds[i - 1]
        if m["key"] == "data" and kind is not None and kind != "Secret":
            continue
        everything = m["key"] == "stringData" or kind == "Secret"

        def secret(value: str, everything: bool = everything) -> bool:
            bare = value.strip().strip("\"'")
            if not bare or bare in ("{}", "null", "~") or bare.startswith("[REDACTED"):
                return False
            return everything or _base64_text(bare)

        if m["rest"]:
            if m["rest"].startswith("{"):
                rest_start = m.start("rest")

                def flow(fm: re.Match[str], secret: Callable[[str], bool] = secret) -> str:
                    if not secret(fm["value"]):
                        return fm.group(0)
                    counts["k8s_secret"] += 1
                    return f"{fm['key']}: {_placeholder('k8s_secret')}"

                new = line[:rest_start] + _FLOW_ENTRY_RE.sub(flow, line[rest_start:])
                changed |= new != line
                lines[i - 1] = new
            continue
        child: int | None = None
        scalar_column: int | None = None
        while i < len(lines):
            body = lines[i]
            if not body.strip():
                i += 1
                continue
            col = len(body) - len(body.lstrip())
            if col <= column:
                break  # the block ended; the outer loop goes on from this line
            i += 1
            if scalar_column is not None and col > scalar_column:
                if everything:
                    lines[i - 1] = body[:col] + _placeholder("k8s_secret")
                    changed = True
                continue
            scalar_column = None
            child = col if child is None else child
            entry = _ENTRY_RE.match(body)
            if col != child or entry is None or entry["value"] is None:
                continue
            value = entry["value"]
            if _BLOCK_SCALAR_RE.fullmatch(value.strip()):
                scalar_column = col
                if everything:
                    counts["k8s_secret"] += 1
                continue
            if secret(value):
                quote = value[0] if value[:1] in "\"'" and value[-1:] == value[:1] and len(value) > 1 else ""
                lines[i - 1] = f"{entry['lead']}{entry['gap']}{quote}{_placeholder('k8s_secret')}{quote}"
                counts["k8s_secret"] += 1
                changed = True
    return "\n".join(lines) if changed else text


_JSON_DATA_RE = re.compile(
    r"(?P<q>\\*+\")(?P<key>data|stringData)(?P=q)[ \t\r\n]*+:[ \t\r\n]*+\{(?P<body>[^{}]{0,200000}+)\}"
)


def _json_secret_data(text: str, counts: Counter[str]) -> str:
    """The same for `kubectl get secret -o json` (and a Secret quoted inside another JSON string)."""

    def replace(m: re.Match[str]) -> str:
        q = re.escape(m["q"])
        after = text[m.end() : m.end() + 300]
        before = text[max(0, m.start() - 5000) : m.start()]
        kind_re = re.compile(rf"{q}(?P<f>kind|type){q}[ \t\r\n]*+:[ \t\r\n]*+{q}(?P<v>[\w./-]++){q}")
        kind: str | None = None
        for source in (kind_re.finditer(after), reversed(list(kind_re.finditer(before)))):
            for km in source:
                if km["f"] == "kind":
                    kind = km["v"]
                elif km["v"] == "Opaque" or km["v"].startswith("kubernetes.io/"):
                    kind = "Secret"
                if kind:
                    break
            if kind:
                break
        if m["key"] == "data" and kind is not None and kind != "Secret":
            return m.group(0)
        everything = m["key"] == "stringData" or kind == "Secret"
        value_pattern = r"(?:[^\"\\]|\\.)*+" if m["q"] == '"' else rf"(?:(?!{q}).){{0,100000}}?"
        entry_re = re.compile(
            rf"(?P<k>{q}(?:(?!{q})[^\n]){{0,300}}?{q}[ \t\r\n]*+:[ \t\r\n]*+{q})(?P<v>{value_pattern}){q}"
        )

        def entry(em: re.Match[str]) -> str:
            value = em["v"]
            if not value or value.startswith("[REDACTED") or not (everything or _base64_text(value)):
                return em.group(0)
            counts["k8s_secret"] += 1
            return f"{em['k']}{_placeholder('k8s_secret')}{m['q']}"

        body = entry_re.sub(entry, m["body"])
        return text[m.start() : m.start("body")] + body + text[m.end("body") : m.end()]

    return _JSON_DATA_RE.sub(replace, text)


# Starts only at an unescaped quote: a run of `\"` is then scanned once, not once per quote in it.
_JSON_STRING_RE = re.compile(r"(?<!\\)\"(?P<body>(?:[^\"\\\n]|\\.){0,500000}+)\"")


def _escaped_strings(text: str, counts: Counter[str], depth: int) -> str:
    """JSON strings with escaped newlines (a PEM or a manifest inside an alert annotation or a JSON log
    line): decode, redact as text, re-encode. Only strings that change are rewritten."""

    def replace(m: re.Match[str]) -> str:
        if "\\n" not in m["body"] and '\\"' not in m["body"]:
            return m.group(0)
        try:
            decoded = json.loads(m.group(0))
        except ValueError:
            return m.group(0)
        inner = _redact(decoded, depth + 1)
        if not inner.counts:
            return m.group(0)
        counts.update(inner.counts)
        return json.dumps(inner.text, ensure_ascii=False)

    return _JSON_STRING_RE.sub(replace, text)


_Pass = Callable[[str, Counter[str]], str]
_STRUCTURE: tuple[tuple[tuple[str, ...], _Pass], ...] = (
    (("data",), _yaml_secret_data),
    (("data",), _json_secret_data),
)


def _redact(text: str, depth: int = 0) -> RedactionResult:
    counts: Counter[str] = Counter()
    if not text:
        return RedactionResult(text=text)
    low = text.lower()
    if depth < 3 and ("\\n" in text or '\\"' in text):
        text = _escaped_strings(text, counts, depth)
    for triggers, apply in _STRUCTURE:
        if any(t in low for t in triggers):
            text = apply(text, counts)
    for rule in _RULES:
        if rule.wanted(text, low):
            text = _apply_rule(rule, text, counts)
        if rule.triggers == ("private key",) and "private key" in low:
            # After the one-block PEM rule, so a plain multi-line key stays one placeholder.
            text = _pem_lines(text, counts)
    return RedactionResult(text=text, counts=dict(counts))


def redact(text: str) -> RedactionResult:
    """Replace secrets in `text` with `[REDACTED:<kind>]`, keeping the context around each one."""
    return _redact(text)


def redact_text(text: str) -> str:
    """`redact(text).text`."""
    return _redact(text).text


def _redact_obj(obj: Any, key: str | None = None) -> Any:
    """Return a redacted copy of strings nested in dicts/lists; values under secret-named keys go whole."""
    if isinstance(obj, str):
        kind = secret_key_kind(key, obj) if key is not None else None
        if kind is not None:
            return _placeholder(kind)
        return redact_text(obj)
    if isinstance(obj, dict):
        return {k: _redact_obj(v, k if isinstance(k, str) else None) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_redact_obj(v) for v in obj)
    return obj


def redact_messages(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Return copies of LangChain messages with secrets redacted from content and tool-call arguments."""
    redacted: list[BaseMessage] = []
    for msg in messages:
        update: dict[str, Any] = {"content": _redact_obj(msg.content)}
        if msg.additional_kwargs:
            # Provider-format tool calls (`function.arguments` JSON strings) can be re-sent from here.
            update["additional_kwargs"] = _redact_obj(msg.additional_kwargs)
        for name in ("tool_calls", "invalid_tool_calls", "tool_call_chunks"):
            value = getattr(msg, name, None)
            if value:
                update[name] = _redact_obj(value)
        redacted.append(msg.model_copy(update=update, deep=True))
    return redacted


_EXCERPT_MAX = 2000  # Evidence.excerpt's max_length: placeholders can be longer than what they replace


def redact_diagnosis(diagnosis: Diagnosis) -> Diagnosis:
    """A copy of `diagnosis` with every text field redacted: summary, root cause, confidence reason,
    evidence excerpts and citations, next steps, actions' parameters and `why`, fallback reason."""
    data = _redact_obj(diagnosis.model_dump(mode="python"))
    for item in data.get("evidence", []):
        item["excerpt"] = bound_text(item["excerpt"], _EXCERPT_MAX)
    return Diagnosis.model_validate(data)


# --- bounding -------------------------------------------------------------------------------------------


def _omitted(count: int) -> str:
    return f"… [{count} chars omitted] …"


def _safe_cut(text: str, pos: int, *, backward: bool) -> int:
    """Move a cut position out of any redaction placeholder it falls inside."""
    for m in _PLACEHOLDER_RE.finditer(text, max(0, pos - 64), min(len(text), pos + 64)):
        if m.start() < pos < m.end():
            return m.start() if backward else m.end()
    return pos


def bound_text(text: str, max_chars: int) -> str:
    """Cap `text` at `max_chars`, keeping head and tail around a `… [N chars omitted] …` marker.

    It lives with redaction because it never cuts through a `[REDACTED:...]` placeholder.
    """
    if max_chars < 0:
        raise ValueError("max_chars must be >= 0")
    if len(text) <= max_chars:
        return text
    # The omitted count is at most len(text), so this marker is never shorter than the real one.
    budget = max_chars - len(_omitted(len(text)))
    if budget < 2:
        return text[: _safe_cut(text, max_chars, backward=True)]
    head = _safe_cut(text, (budget + 1) // 2, backward=True)
    tail = _safe_cut(text, len(text) - budget // 2, backward=False)
    return text[:head] + _omitted(tail - head) + text[tail:]


def redact_alert(alert: Alert) -> Alert:
    """A copy of an alert whose labels, annotations, summary and raw payload carry no secrets (the alert as
    received stays in the database for audit; what is served or sent on is redacted)."""
    # Key-aware: `db_password: hunter2` loses its value whole, whatever the value looks like.
    return alert.model_copy(
        update={
            "labels": _redact_obj(alert.labels),
            "annotations": _redact_obj(alert.annotations),
            "raw": _redact_obj(alert.raw),
        }
    )
