"""Small template helpers for the clinic's pages."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")


@register.filter
def humanize(value: object) -> str:
    """An engine code such as 'physician_evaluation' as words."""
    return str(getattr(value, "value", value)).replace("_", " ")


@register.simple_tag(takes_context=True)
def posted(context: template.Context, name: str, default: object = "") -> object:
    """The value just typed when a form comes back refused, so nothing has to be typed twice."""
    data = context.get("posted") or {}
    if name in data:
        return data[name]
    return "" if default is None else default


WORDS = {
    "prn": "as-needed medication",
    "physician_evaluation": "physician evaluation",
    "stop": "stop the infusion",
    "none": "no intervention",
    "continue": "continues",
    "hold": "on hold",
}


@register.filter
def protocol_words(value: object) -> str:
    """An engine response or infusion action in a nurse's words."""
    code = str(getattr(value, "value", value))
    return WORDS.get(code, code.replace("_", " "))
