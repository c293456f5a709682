"""Settings from the environment (and a ``.env`` file), with the token kept as a ``SecretStr``.

Variables:

- ``AGENT_BILLING_TOKEN``: the control-plane access token (``MODELSLAB_AGENT_TOKEN`` is accepted too).
- ``AGENT_BILLING_BASE_URL``: API base, default ``https://modelslab.com/api/agents/v1``.
- ``AGENT_BILLING_TIMEOUT``: seconds per request (default 30).
- ``AGENT_BILLING_MAX_RETRIES``: retries for 429/5xx/connection errors (default 3).

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
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from agent_billing.errors import AuthenticationError

DEFAULT_BASE_URL = "https://modelslab.com/api/agents/v1"
TOKEN_VARIABLES = ("AGENT_BILLING_TOKEN", "MODELSLAB_AGENT_TOKEN")


class Settings(BaseModel):
    """Connection settings of a billing client.

    Example:
        >>> Settings(token=SecretStr("t")).base_url
        'https://modelslab.com/api/agents/v1'
    """

    model_config = ConfigDict(frozen=True)

    base_url: str = DEFAULT_BASE_URL
    token: SecretStr | None = None
    timeout: float = Field(30.0, gt=0)
    max_retries: int = Field(3, ge=0, le=10)

    @classmethod
    def from_env(
        cls, *, environ: Mapping[str, str] | None = None, dotenv_path: str | Path | bool | None = True
    ) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``) over a ``.env`` file.

        ``dotenv_path=True`` searches for ``.env`` from the working directory upwards; a path reads that
        file; ``None``/``False`` reads none.
        """
        values: dict[str, str] = {}
        if dotenv_path is True:
            found = find_dotenv(usecwd=True)
            dotenv_path = found or None
        if dotenv_path:
            values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        token = next((values[name] for name in TOKEN_VARIABLES if values.get(name)), None)
        return cls(
            base_url=values.get("AGENT_BILLING_BASE_URL") or DEFAULT_BASE_URL,
            token=SecretStr(token) if token else None,
            timeout=float(values.get("AGENT_BILLING_TIMEOUT") or 30.0),
            max_retries=int(values.get("AGENT_BILLING_MAX_RETRIES") or 3),
        )

    def require_token(self) -> SecretStr:
        """The token, or an ``AuthenticationError`` naming the variables to set."""
        if self.token is None or not self.token.get_secret_value():
            raise AuthenticationError(
                "no access token: pass token=... or set AGENT_BILLING_TOKEN (in the environment or a .env file)"
            )
        return self.token
