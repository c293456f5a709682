"""Signed receipts: what an executed money-moving call did, signed by a key the deployer holds.

Every executed call whose effect moves money (a charge, a standing authorisation, a payout) gets one
receipt when the toolkit has a signer: the charge intent and its digest, the approval evidence (who said
yes, how, when; or the mandate that covered it), the provider's request id and receipt ids (the result
fields the provider declares in ``Provider.receipt_fields``), the outcome, and an Ed25519 signature over
the receipt's canonical JSON (sorted keys, no whitespace, ``Decimal`` as a string). The audit record of
the executed call carries the receipt's digest (``AuditEvent.receipt``), so the audit chain references it.

Configuration (decided here, and documented in the README):

- ``BillingToolkit(receipts=ReceiptSigner.from_pem_file(path))`` or ``receipts=ReceiptBook(...)``; else
  ``$AGENT_BILLING_RECEIPT_KEY``, the path of a PEM Ed25519 private key (``agent-billing receipts keygen``).
- Without either: no receipts (an unsigned receipt would prove nothing the audit log does not). When the
  deployer asked for signing (the variable is set) and the key cannot be read, the toolkit refuses to
  start (fail closed): a deployment that must produce evidence never runs without it.
- Receipts are files under ``<state dir>/receipts/<account>/`` (``$AGENT_BILLING_STATE_DIR``), one per
  idempotency key, created exclusively: a retry or an idempotent replay of the same charge never mints a
  second receipt (it gets the first one back); a replay that completes a call whose outcome was unknown
  mints the only receipt, marked ``"replay": true`` (its approval was given before the outcome was lost).

``agent-billing receipts verify FILE --public-key PEM`` checks one offline.

Example:
    >>> signer = ReceiptSigner.generate()
    >>> receipt = signer.sign({"operation": "buy", "amount": Decimal("5.00"), "approval": {"by": "person"}})
    >>> verify_receipt(receipt, signer.public_pem()).ok
    True
    >>> receipt["amount"] = "500.00"
    >>> verify_receipt(receipt, signer.public_pem()).reason
    'the signature does not match the receipt'
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    from agent_billing.registry import Effect
    from agent_billing.tools.steps import Answer

RECEIPT_KEY_ENV = "AGENT_BILLING_RECEIPT_KEY"
VERSION = 1
ALGORITHM = "Ed25519"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):  # a float has no one canonical text: money is never a float here
        raise TypeError("receipts hold no floats; use Decimal")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: JSON with sorted keys, no whitespace, UTF-8, ``Decimal`` as its plain string.

    Example:
        >>> canonical_json({"b": Decimal("25.0"), "a": [1, "é"]})
        b'{"a":[1,"\\xc3\\xa9"],"b":"25.0"}'
    """
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def receipt_digest(receipt: Mapping[str, Any]) -> str:
    """SHA-256 of the whole receipt (its signature included): what the audit record names.

    Example:
        >>> len(receipt_digest({"a": 1})), receipt_digest({"a": 1}) == receipt_digest({"a": 1})
        (64, True)
    """
    return hashlib.sha256(canonical_json(receipt)).hexdigest()


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:  # the optional extra is missing
        raise ValueError("signed receipts need the 'cryptography' package: pip install 'agent-billing[receipts]'") \
            from exc
    return serialization, ed25519


def key_id(public_raw: bytes) -> str:
    """A short id of a public key (the first 16 hex digits of its SHA-256), carried by each signature.

    Example:
        >>> key_id(bytes(32))
        '66687aadf862bd77'
    """
    return hashlib.sha256(public_raw).hexdigest()[:16]


class ReceiptSigner:
    """An Ed25519 private key that signs receipts (the deployer holds it; the public half verifies).

    Example:
        >>> signer = ReceiptSigner.generate()
        >>> signed = signer.sign({"outcome": "succeeded"})
        >>> signed["signature"]["alg"], signed["signature"]["kid"] == signer.kid
        ('Ed25519', True)
    """

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        serialization, _ = _crypto()
        self._key = private_key
        raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.kid = key_id(raw)

    @classmethod
    def generate(cls) -> ReceiptSigner:
        """A new random key."""
        _, ed25519 = _crypto()
        return cls(ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> ReceiptSigner:
        """A signer from a PEM (PKCS #8, unencrypted) Ed25519 private key; ValueError if it is not one."""
        serialization, ed25519 = _crypto()
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not an unencrypted PEM private key: {exc}") from None
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError("the receipt key must be an Ed25519 private key (agent-billing receipts keygen makes one)")
        return cls(key)

    @classmethod
    def from_pem_file(cls, path: str | Path) -> ReceiptSigner:
        """A signer from a PEM file; ValueError naming the file when it cannot be read or is not a key."""
        try:
            pem = Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read the receipt signing key {str(path)!r}: {exc.strerror or exc}. Make one "
                             "with: agent-billing receipts keygen --out PATH") from None
        try:
            return cls.from_pem(pem)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def private_pem(self) -> bytes:
        """The private key as PEM (PKCS #8, unencrypted): keep it secret, mode 0600."""
        serialization, _ = _crypto()
        return bytes(self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))

    def public_pem(self) -> bytes:
        """The public key as PEM (SubjectPublicKeyInfo): what ``receipts verify --public-key`` takes."""
        serialization, _ = _crypto()
        return bytes(self._key.public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo))

    def sign(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``body`` (made plain: Decimals as strings) with a ``signature`` over its canonical JSON."""
        plain: dict[str, Any] = _plain({k: v for k, v in body.items() if k != "signature"})
        value = base64.b64encode(self._key.sign(canonical_json(plain))).decode("ascii")
        return {**plain, "signature": {"alg": ALGORITHM, "kid": self.kid, "value": value}}


@dataclass(frozen=True)
class Verification:
    """The answer of :func:`verify_receipt`: ``ok``, and why not."""

    ok: bool
    reason: str = ""


def verify_receipt(receipt: Mapping[str, Any], public_pem: bytes) -> Verification:
    """Check a receipt's signature against a PEM Ed25519 public key, offline.

    Any change to any field (nested too), a missing or foreign signature, or another key fails.

    Example:
        >>> signer, other = ReceiptSigner.generate(), ReceiptSigner.generate()
        >>> verify_receipt(signer.sign({"a": 1}), other.public_pem()).reason
        'signed by another key'
    """
    serialization, ed25519 = _crypto()
    try:
        public = serialization.load_pem_public_key(public_pem)
    except (ValueError, TypeError) as exc:
        return Verification(False, f"not a PEM public key: {exc}")
    if not isinstance(public, ed25519.Ed25519PublicKey):
        return Verification(False, "the public key is not an Ed25519 key")
    signature = receipt.get("signature")
    if not isinstance(signature, Mapping) or set(signature) != {"alg", "kid", "value"}:
        return Verification(False, "the receipt carries no signature")
    if signature.get("alg") != ALGORITHM:
        return Verification(False, f"unknown signature algorithm {signature.get('alg')!r}")
    if signature.get("kid") != key_id(_raw(public)):
        return Verification(False, "signed by another key")
    try:
        value = base64.b64decode(str(signature["value"]), validate=True)
        body = {k: v for k, v in receipt.items() if k != "signature"}
        public.verify(value, canonical_json(body))
    except Exception:  # InvalidSignature, a garbled value, a float: all mean "not this receipt"
        return Verification(False, "the signature does not match the receipt")
    return Verification(True)


def _raw(public: Ed25519PublicKey) -> bytes:
    serialization, _ = _crypto()
    return bytes(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


class ReceiptBook:
    """Where an account's receipts are kept (one JSON file per idempotency key) and the signer that makes them.

    ``issue`` signs and stores a receipt unless one exists for that key (then it returns that one: one
    receipt per executed charge, whatever the retries). ``get`` and ``receipts`` read them back.

    Example:
        >>> import tempfile
        >>> book = ReceiptBook(ReceiptSigner.generate(), tempfile.mkdtemp(), provider="example")
        >>> first = book.issue("ab_1", {"operation": "buy", "outcome": {"status": "succeeded"}})
        >>> book.issue("ab_1", {"operation": "buy", "outcome": {"status": "succeeded"}}) == first
        True
        >>> [r["id"] for r in book.receipts()] == [first["id"]]
        True
    """

    def __init__(self, signer: ReceiptSigner | None, directory: str | Path, *, provider: str = "",
                 account: str = "default") -> None:  # signer None: a book that only reads (``receipts list``)
        self.signer, self.root, self.provider, self.account = signer, Path(directory), provider, account

    def for_account(self, account: str, provider: str) -> ReceiptBook:
        """The same signer and root, for one account of one provider (the toolkit's)."""
        return ReceiptBook(self.signer, self.root, provider=provider, account=account)

    @property
    def directory(self) -> Path:
        """``<root>/<account>``: the account's receipts."""
        return self.root / _SAFE.sub("_", self.account)

    def _path(self, idempotency_key: str) -> Path:
        return self.directory / f"{_SAFE.sub('_', idempotency_key)}.json"

    def issue(self, idempotency_key: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Sign and store the receipt of the call sent under ``idempotency_key``, or return the one already kept."""
        existing = self.get(idempotency_key)
        if existing is not None:
            return existing
        if self.signer is None:
            raise ValueError("this receipt book only reads: give it a ReceiptSigner to issue receipts")
        rid = "rcpt_" + hashlib.sha256(f"{self.provider}|{self.account}|{idempotency_key}".encode()).hexdigest()[:32]
        signed = self.signer.sign({"version": VERSION, "id": rid, "provider": self.provider,
                                   "account": self.account, "idempotency_key": idempotency_key, **body})
        path = self._path(idempotency_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_suffix(f".{uuid.uuid4().hex}.tmp")  # one per writer: threads share the pid
        draft.write_bytes(canonical_json(signed) + b"\n")
        try:
            os.link(draft, path)  # exclusive: a concurrent issue of the same key keeps the first receipt
        except FileExistsError:
            return self.get(idempotency_key) or signed
        finally:
            draft.unlink(missing_ok=True)
        return signed

    def get(self, idempotency_key: str) -> dict[str, Any] | None:
        """The receipt of the call sent under ``idempotency_key``, or None."""
        try:
            loaded: dict[str, Any] = json.loads(self._path(idempotency_key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return loaded

    def receipts(self) -> Iterator[dict[str, Any]]:
        """Every receipt of this account, oldest first."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.json"), key=lambda p: (p.stat().st_mtime_ns, p.name)):
            yield json.loads(path.read_text(encoding="utf-8"))


def receipts_from_env(environ: Mapping[str, str] | None = None, *, directory: str | Path | None = None,
                      ) -> ReceiptBook | None:
    """The receipt book ``$AGENT_BILLING_RECEIPT_KEY`` asks for, or None when it is unset (no receipts).

    Set but unreadable (or not an Ed25519 key) is a ValueError: the deployer asked for signing.

    Example:
        >>> receipts_from_env({}) is None
        True
        >>> receipts_from_env({"AGENT_BILLING_RECEIPT_KEY": "/no/such/key.pem"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: cannot read the receipt signing key '/no/such/key.pem': ...
    """
    from agent_billing.guardrails.spend_store import state_dir

    path = (os.environ if environ is None else environ).get(RECEIPT_KEY_ENV, "").strip()
    if not path:
        return None
    return ReceiptBook(ReceiptSigner.from_pem_file(path), Path(directory) if directory else state_dir() / "receipts")


def resolve_receipts(configured: Any) -> ReceiptBook | None:
    """A toolkit's ``receipts=``: a book, a signer (kept under the state directory), or None (the environment).

    Example:
        >>> resolve_receipts(None) is None  # no $AGENT_BILLING_RECEIPT_KEY in the test environment
        True
        >>> isinstance(resolve_receipts(ReceiptSigner.generate()), ReceiptBook)
        True
    """
    from agent_billing.guardrails.spend_store import state_dir

    if configured is None:
        return receipts_from_env()
    if isinstance(configured, ReceiptBook):
        return configured
    if isinstance(configured, ReceiptSigner):
        return ReceiptBook(configured, state_dir() / "receipts")
    raise ValueError(f"receipts= takes a ReceiptSigner or a ReceiptBook, not {type(configured).__name__}")


def write_key_pair(out: str | Path) -> tuple[Path, Path]:
    """Make a new key pair: the private key at ``out`` (mode 0600, never overwritten) and ``out.pub``.

    Example:
        >>> import tempfile
        >>> private, public = write_key_pair(Path(tempfile.mkdtemp()) / "receipts.pem")
        >>> oct(private.stat().st_mode & 0o777), public.name
        ('0o600', 'receipts.pem.pub')
    """
    signer = ReceiptSigner.generate()
    private, public = Path(out).expanduser(), Path(f"{Path(out).expanduser()}.pub")
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(signer.private_pem())
    public.write_bytes(signer.public_pem())
    return private, public




# --- what the guard calls on its success path (tools/pipeline.py): a few lines there, the rest here


def approval_evidence(approver: str, *, auto: bool, mandate: str | None, at: datetime,
                      details: dict[str, Any] | None = None) -> dict[str, Any]:
    """How the yes was given: by whom (the approver's description), which kind, when; or the covering mandate.
    ``details``: what the approver recorded of the decision (an out-of-band link's request id, client, method...).

    Example:
        >>> from datetime import timezone
        >>> evidence = approval_evidence("mandate:ops", auto=True, mandate="ops", at=datetime(2026, 12, 5, tzinfo=timezone.utc))
        >>> evidence["decision"], evidence["kind"], evidence["at"]
        ('auto_approved', 'mandate', '2026-12-05T00:00:00+00:00')
    """
    evidence = {"decision": "auto_approved" if auto else "approved", "kind": "mandate" if auto else "approver",
                "approver": approver, "mandate": mandate, "at": at.isoformat()}
    return {**evidence, "details": details} if details else evidence


def provider_receipt_ids(provider: str, result: Any) -> dict[str, str]:
    """The provider's receipt ids in a result (its declared ``receipt_fields``), by dotted path.

    Example:
        >>> from agent_billing.provider import Provider, register, unregister
        >>> _ = register(Provider(name="example_co", package="example_co", receipt_fields=("id", "charge_ref")))
        >>> provider_receipt_ids("example_co", {"charge": {"charge_ref": "ch_1"}, "amount": "5", "id": 7})
        {'charge.charge_ref': 'ch_1', 'id': '7'}
        >>> unregister("example_co")
    """
    from agent_billing.audit import receipt_keys
    from agent_billing.provider import get_provider

    try:
        fields = set(get_provider(provider).receipt_fields)
    except KeyError:  # a deployer's registry under a name of its own: every provider's receipt fields
        fields = set(receipt_keys())
    found: dict[str, str] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                if key in fields and isinstance(item, (str, int)) and not isinstance(item, bool):
                    found[name] = str(item)
                else:
                    walk(item, name)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    walk(result, "")
    return found


def mint(book: ReceiptBook | None, *, operation: str, effect: Effect, answer: Answer, audit: Mapping[str, Any],
         evidence: Mapping[str, Any] | None, now: datetime) -> dict[str, Any] | None:
    """The receipt of an executed call (None without a book, or for a call that moves no money).

    ``audit`` is the guard's audit facts of the call (``key``, ``amount``, ``intent``); ``evidence`` the
    approval's (:func:`approval_evidence`), or for a replay ``{"decision": "replayed", "intent_digest": ...}``.
    """
    if book is None or not effect.moves_money:
        return None
    intent = audit.get("intent")
    evidence = dict(evidence or {})
    replay = evidence.get("decision") == "replayed"
    result = answer.result.model_dump(mode="json") if hasattr(answer.result, "model_dump") else answer.result
    return book.issue(str(audit["key"]), {
        "issued_at": now, "operation": operation, "effect": effect.value,
        "intent": intent.model_dump(mode="json") if intent is not None else None,
        "intent_digest": intent.digest if intent is not None else evidence.pop("intent_digest", None),
        "approval": evidence,
        "provider_request_id": answer.request_id,
        "provider_receipts": provider_receipt_ids(book.provider, result),
        "outcome": {"status": "succeeded", "replay": replay, "amount": audit.get("amount"),
                    "currency": intent.currency if intent is not None else None},
    })


__all__ = ["RECEIPT_KEY_ENV", "ReceiptBook", "ReceiptSigner", "Verification", "approval_evidence", "canonical_json",
           "mint", "provider_receipt_ids", "receipt_digest", "receipts_from_env", "resolve_receipts", "verify_receipt",
           "write_key_pair"]
