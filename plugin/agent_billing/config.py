"""Settings from the environment (and a ``.env`` file), with the token kept as a ``SecretStr``.

Which variables hold the key and the base URL is the provider's declaration (``Registry.connection``):
for the default provider ``AGENT_BILLING_TOKEN`` and ``AGENT_BILLING_BASE_URL``; for others their own
(see each provider's docs). Common to all:

- ``AGENT_BILLING_TIMEOUT``: the most seconds one call may take, all of it: connecting, the answer's
  headers and body, and every retry and wait between them (default 30). Enforced while reading, so a
  server dripping its answer cannot stretch it.
- ``AGENT_BILLING_MAX_RESPONSE_BYTES``: the largest answer a call accepts (default 4 MiB); a bigger one is
  refused while it arrives, never held in memory.
- ``AGENT_BILLING_LOCK_TIMEOUT``: the most seconds a tool call waits for its account's funding lock
  (another charge on the default card) before answering ``store_unavailable`` with nothing sent (default 10).
- ``AGENT_BILLING_MAX_RETRIES``: retries for 429/5xx/connection errors (default 3).
- ``AGENT_BILLING_ALLOW_LIVE``: ``1`` lets a client use a provider's live (real-money) key.

Real environment variables win over the ``.env`` file, which is read without modifying ``os.environ``.

Example:
    >>> s = Settings.from_env(environ={"AGENT_BILLING_TOKEN": "tok"}, dotenv_path=None)
    >>> s.token
    SecretStr('**********')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values, find_dotenv
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from agent_billing.errors import AuthenticationError, InvalidRequestError

_TRUE = {"1", "true", "yes", "on"}
# Numeric settings and the variables that set them (validated by the model: a typo is a clear error).
_NUMBERS = {"timeout": "AGENT_BILLING_TIMEOUT", "max_response_bytes": "AGENT_BILLING_MAX_RESPONSE_BYTES",
            "lock_timeout": "AGENT_BILLING_LOCK_TIMEOUT", "max_retries": "AGENT_BILLING_MAX_RETRIES"}


class Settings(BaseModel):
    """Connection settings of a billing client.

    ``base_url=None`` means the provider's default (``Registry.connection.default_base_url``).

    Example:
        >>> Settings(token=SecretStr("t")).base_url is None
        True
    """

    model_config = ConfigDict(frozen=True)

    base_url: str | None = None
    token: SecretStr | None = None
    timeout: float = Field(30.0, gt=0, le=3600, description="total seconds per call, retries included")
    max_response_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="largest answer accepted, in bytes")
    lock_timeout: float = Field(10.0, gt=0, le=3600, description="seconds to wait for an account's funding lock")
    max_retries: int = Field(3, ge=0, le=10)
    allow_live: bool = False
    token_variables: tuple[str, ...] = ()

    @classmethod
    def from_env(
        cls, *, environ: Mapping[str, str] | None = None, dotenv_path: str | Path | bool | None = True,
        provider: str | None = None,
    ) -> Settings:
        """Read settings for ``provider`` (default: the default provider) from ``environ`` over a ``.env`` file.

        ``dotenv_path=True`` searches for ``.env`` from the working directory upwards; a path reads that
        file; ``None``/``False`` reads none.
        """
        from agent_billing.registry import get_registry

        connection = get_registry(provider).connection
        values: dict[str, str] = {}
        if dotenv_path is True:
            found = find_dotenv(usecwd=True)
            dotenv_path = found or None
        if dotenv_path:
            values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        token = next((values[name] for name in connection.token_variables if values.get(name)), None)
        base_url = next((values[name] for name in connection.base_url_variables if values.get(name)), None)
        numbers = {field: values[name] for field, name in _NUMBERS.items() if values.get(name)}
        try:
            return cls.model_validate({
                "base_url": base_url, "token": SecretStr(token) if token else None, **numbers,
                "allow_live": (values.get("AGENT_BILLING_ALLOW_LIVE") or "").strip().lower() in _TRUE,
                "token_variables": connection.token_variables,
            })
        except ValidationError as exc:
            wrong = ", ".join(f"{_NUMBERS.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}"
                              for e in exc.errors(include_input=False, include_url=False))
            raise InvalidRequestError(f"invalid agent-billing setting ({wrong}); fix the variable") from None

    def require_token(self) -> SecretStr:
        """The token, or an ``AuthenticationError`` naming the variables to set."""
        if self.token is None or not self.token.get_secret_value():
            where = " or ".join(self.token_variables) or "the provider's key variable"
            raise AuthenticationError(f"no access token: pass token=... or set {where} (in the environment or a .env file)")
        return self.token
