"""System prompts that teach an agent the three payment paths and the safety rules, in English or Chinese.

Each prompt is a Markdown template in ``prompts/`` (``<variant>.<language>.md``) with ``string.Template``
placeholders. The payment-path rules are rendered from :data:`agent_billing.advisor.RULES` and the
paths in calls from the provider's declaration (``Registry.advisor``), so the prompt and the
``payment_path`` advisor cannot disagree; the spending limits come from the deployer's
:class:`~agent_billing.guardrails.mandate.Mandate`.

Variants:

- ``system``: the general billing agent (all three paths, safety rules, tool map);
- ``chatbot``: relays payment links to a person in a chat;
- ``voice``: speaks to a caller; never reads URLs aloud;
- ``autonomous``: runs under a mandate with nobody present.

Example:
    >>> from agent_billing.guardrails.mandate import Mandate
    >>> prompt = load_prompt("autonomous", product_name="Acme", mandate=Mandate(max_per_charge="50"))
    >>> "$50.00 per charge" in prompt
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from string import Template
from typing import Any, Literal, get_args

from agent_billing.advisor import PaymentPaths, render_in_calls, render_rules
from agent_billing.guardrails.mandate import Mandate
from agent_billing.registry import Registry, get_registry
from agent_billing.resources import data_path

Variant = Literal["system", "chatbot", "voice", "autonomous"]
Language = Literal["en", "zh"]

VARIANTS: tuple[str, ...] = get_args(Variant)
LANGUAGES: tuple[str, ...] = get_args(Language)
ADVISOR_TOOL = "payment_path"

_NO_MANDATE = {
    "en": "No spending mandate is set, so every money-moving call needs a person's approval first.",
    "zh": "未设置支出授权（mandate），因此每一个涉及资金的调用都必须先经人批准。",
}
_TOOLS_LINE = {
    "en": "Your billing tools here: {names}. If a step needs a tool not in this list, say so; do not improvise.",
    "zh": "此处可用的账单工具：{names}。如果某一步需要的工具不在此列表中，请如实说明，不要自行变通。",
}
_SEPARATOR = {"en": ", ", "zh": "、"}
DEFAULT_PRODUCT = "your product"
_DEFAULT_PRODUCT = {"en": DEFAULT_PRODUCT, "zh": "本产品"}


def default_tools(provider: str | None = None) -> list[str]:
    """The tool names a default ``BillingToolkit`` gives an agent: the registry's groups and the advisor
    (where the provider declares its payment paths).

    Example:
        >>> default_tools()[-2:]
        ['payment_links', 'payment_path']
        >>> default_tools("wallgent")
        ['billing', 'payment_method', 'invoices', 'payment_path']
    """
    registry = get_registry(provider)
    return [*registry.groups(), *([ADVISOR_TOOL] if registry.advisor is not None else [])]


def available_prompts() -> list[tuple[str, str]]:
    """Every (variant, language) pair that has a template.

    Example:
        >>> ("voice", "zh") in available_prompts()
        True
    """
    return [(v, lang) for v in VARIANTS for lang in LANGUAGES if _template_path(v, lang).is_file()]


def load_prompt(
    variant: Variant = "system",
    language: Language = "en",
    *,
    product_name: str = DEFAULT_PRODUCT,
    mandate: Mandate | None = None,
    tools: Sequence[str] | None = None,
    currency: str = "USD",
    provider: str | None = None,
) -> str:
    """Render a system prompt.

    ``mandate``: the deployer's spending policy, quoted as its :meth:`Mandate.describe` (its limits are
    what the tools enforce); without one the prompt says every money-moving call needs a person's
    approval. ``tools``: the tool names the agent actually holds (default: every billing tool and
    ``payment_path``). ``currency`` must match the mandate's. ``provider``: whose payment paths the rules
    and the paths in calls describe (default: the default provider). Without a product name every
    sentence still reads well ("your product"; "本产品" in Chinese).

    Example:
        >>> text = load_prompt("chatbot", "zh", product_name="Acme")
        >>> "Acme" in text and "payment_links" in text
        True
        >>> load_prompt().splitlines()[2][:60]
        'You manage the billing account of your product: wallet balan'
        >>> for variant in ("autonomous", "chatbot", "voice"):
        ...     print(load_prompt(variant).splitlines()[0])
        # Autonomous billing agent for your product
        # Billing chat for your product
        # Voice billing assistant for your product
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown prompt variant {variant!r}; choose from {', '.join(VARIANTS)}")
    if language not in LANGUAGES:
        raise ValueError(f"unknown prompt language {language!r}; choose from {', '.join(LANGUAGES)}")
    currency = currency.strip().upper()
    if mandate is not None and mandate.currency != currency:
        raise ValueError(f"the mandate's limits are in {mandate.currency}, but the prompt says amounts are in "
                         f"{currency}; pass currency={mandate.currency!r}")
    registry = get_registry(provider)
    paths = _paths(registry)
    names = list(default_tools(registry.provider) if tools is None else tools)
    if not names or any(not isinstance(n, str) or not n.strip() for n in names):
        raise ValueError("tools must be a non-empty list of tool names")
    mandate_text = mandate.describe(language) if mandate is not None else _NO_MANDATE[language]
    template = Template(_template_path(variant, language).read_text(encoding="utf-8"))
    return template.substitute(
        product_name=_product(product_name, language),
        mandate=mandate_text,
        payment_path_rules=render_rules(language, paths),
        payment_paths=render_in_calls(paths, language),
        tools=_TOOLS_LINE[language].format(names=_SEPARATOR[language].join(f"`{n.strip()}`" for n in names)),
        currency=currency,
    )


def _paths(registry: Registry) -> PaymentPaths[Any]:
    if registry.advisor is None:
        raise ValueError(f"provider {registry.provider!r} declares no payment paths, so these prompts (which teach "
                         "them) do not apply to it")
    return registry.advisor


def _product(name: str, language: str) -> str:
    name = name.strip()
    # "your account" is BillingToolkit's default product name: it means no name was given, too.
    return _DEFAULT_PRODUCT[language] if name in ("", DEFAULT_PRODUCT, "your account") else name


def _template_path(variant: str, language: str) -> Path:
    return data_path("prompts") / f"{variant}.{language}.md"

__all__ = ["LANGUAGES", "VARIANTS", "available_prompts", "default_tools", "load_prompt"]
