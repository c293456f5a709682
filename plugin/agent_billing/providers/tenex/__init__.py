"""10ex (user-facing name "10ex"; "tenex" in Python): a read-only billing provider.

``operations`` declares the API (and the assumed paths), ``actions`` the tool actions that answer
without mutating (the portal handoff, ``can_start_run``), ``sandbox`` an offline 10ex.

Example:
    >>> from agent_billing.registry import get_registry
    >>> get_registry("tenex").connection.key_prefixes
    ('tnx_',)
"""
