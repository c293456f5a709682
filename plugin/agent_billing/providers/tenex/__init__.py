"""10ex (user-facing name "10ex"; "tenex" in Python): a read-only billing provider.

``operations`` declares the API (and the assumed paths), ``actions`` the tool actions that answer
without mutating (the portal handoff, ``can_start_run``), ``sandbox`` an offline 10ex.

Example:
    >>> from agent_billing.registry import get_registry
    >>> get_registry("tenex").connection.key_prefixes, PROVIDER.handoff.call()
    (('tnx_',), 'subscription action=change_request')
"""

from agent_billing.provider import HandOff, Provider

PROVIDER = Provider(
    name="tenex",
    package=__name__,
    title="10ex",
    handoff=HandOff(group="subscription", action="change_request"),
    receipt_fields=("id",),
    clients=("TenexClient", "AsyncTenexClient"),
)
