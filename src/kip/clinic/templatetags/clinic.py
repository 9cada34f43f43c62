"""Small template helpers for the clinic's pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")


@register.filter
def humanize(value: object) -> str:
    """An engine code such as 'physician_evaluation' as words."""
    return str(getattr(value, "value", value)).replace("_", " ")


@register.simple_tag(takes_context=True)
def posted(context: template.Context, name: str, default: object = "", form: str = "") -> object:
    """The value just typed when a form comes back refused, so nothing has to be typed twice.
    With `form`, only that form gets it back: the flowsheet's forms share field names (minute,
    rate, reason), and a refused vital sign must not rewrite the minute of the rate form."""
    data = context.get("posted") or {}
    if form and context.get("posted_form") != form:
        data = {}
    if name in data:
        return data[name]
    return "" if default is None else default


@register.simple_tag(takes_context=True)
def invalid(context: template.Context, form: str, *fields: str) -> str:
    """Marks the input a refusal names, so the nurse sees which field to correct and a screen
    reader reads the reason with it."""
    if context.get("posted_form") == form and context.get("error_field") in fields:
        return format_html(' aria-invalid="true" aria-describedby="error-{}"', form)
    return ""


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
