"""Small template helpers for the clinic's pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from kip.clinic.forms import row_form

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


@register.filter
def row(form: str, key: object) -> str:
    """The name of a form's copy in one row or card, as the view names it on refusal:
    `{% with form="role"|row:m.pk %}` (kip.clinic.forms.row_form)."""
    return row_form(form, key)


@register.simple_tag(takes_context=True)
def selected(
    context: template.Context, form: str, name: str, value: object, default: object = ""
) -> SafeString:
    """` selected` for the option a refused `form` had chosen, so the choice comes back with
    the other values; on any other form (and on a first view), for the option `default`."""
    chosen = posted(context, name, default, form=form)
    return mark_safe(" selected") if str(chosen) == str(value) else SafeString("")


def _shown(context: template.Context, form: str) -> list[Any]:
    """The errors of `form` when it is the form just refused (kip.clinic.forms.Shown)."""
    if context.get("posted_form") != form:
        return []
    errors = context.get("errors") or {}
    found: list[Any] = errors.get(form) or []
    return found


@register.simple_tag(takes_context=True)
def invalid(context: template.Context, form: str, *fields: str) -> str:
    """Marks an input a refusal names, so the nurse sees each field to correct and a screen
    reader reads the reason with it. The first name is the input's own: its error is read from
    the message beside it (`field_error`); the others are refusals that concern the input among
    others (the whole baseline, the approval of a rate), read from the summary at the form's top."""
    ids: list[str] = []
    for item in _shown(context, form):
        if item.field not in fields:
            continue
        target = f"error-{form}-{item.field}" if item.field == fields[0] else f"error-{form}"
        if target not in ids:
            ids.append(target)
    if not ids:
        return ""
    return format_html(' aria-invalid="true" aria-describedby="{}"', " ".join(ids))


@register.simple_tag(takes_context=True)
def field_error(context: template.Context, form: str, field: str) -> str:
    """The error of one field, beside it (the id `invalid` points the input to)."""
    texts = [item.text for item in _shown(context, form) if item.field == field]
    if not texts:
        return ""
    return format_html(
        '<span class="field-error" id="error-{}-{}">{}</span>', form, field, " ".join(texts)
    )


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
