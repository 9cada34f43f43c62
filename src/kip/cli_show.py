"""Rich rendering for `kip protocol list` and `kip protocol show`: tables, sections, formatting.

A protocol is laid out as a nurse or physician reads it at the bedside or in clinic: phases and
rates, limits, eligibility, monitoring, adverse events, follow-ups and the responder rule.
"""

from __future__ import annotations

import os

from rich import box
from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.table import Column, Table
from rich.text import Text

from kip.protocol.model import (
    Check,
    EventResponse,
    InfusionAction,
    LimitKind,
    Phase,
    PhysicianOption,
    PrnMedication,
    Protocol,
    Rate,
    RateUnit,
    Route,
    ShortFirstRelief,
    StartRule,
    TitrationMode,
    VitalAlert,
    VitalSign,
)

# Rich tables are laid out for 100 columns when the output is not a terminal (a file, a pipe,
# `make run` in CI); a real terminal keeps its own width.
PIPE_WIDTH = 100


def console() -> Console:
    out = Console(highlight=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = PIPE_WIDTH
    return out


def render_protocol_list(protocols: list[Protocol]) -> Table:
    """The shipped protocols, one row each (`kip protocol list`)."""
    table = _table(
        _fixed("ID"),
        _fixed("Version"),
        Column("Title", ratio=1),
        Column("Phases", justify="right"),
        _fixed("Delivery"),
        title="Shipped protocols",
    )
    for p in protocols:
        table.add_row(Text(p.id), Text(p.version), Text(p.title), str(len(p.phases)), p.delivery)
    return table


def _n(x: float) -> str:
    return f"{x:g}"


def _rate(rate: Rate) -> str:
    return f"{_n(rate.value)} {rate.unit.value}"


def _rates(rates: list[Rate]) -> str:
    if len(rates) == 1:
        return _rate(rates[0])
    return "lower of " + " and ".join(_rate(r) for r in rates)


def _words(value: str) -> str:
    return value.replace("_", " ")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _hours(hours: int) -> str:
    if hours < 48:
        return f"{hours} h"
    if hours % 168 == 0:
        return _plural(hours // 168, "week")
    if hours % 24 == 0:
        return _plural(hours // 24, "day")
    return f"{hours} h"


def _minutes(minutes: int) -> str:
    return _hours(minutes // 60) if minutes % 60 == 0 else f"{minutes} min"


def _heading(title: str) -> Rule:
    return Rule(Text(title, style="bold"), align="left", style="dim")


def _facts(rows: list[tuple[str, str | Text]]) -> Table:
    """Label / value lines that wrap inside the value column."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, value in rows:
        grid.add_row(Text(label), value if isinstance(value, Text) else Text(value))
    return grid


def _table(*columns: Column, title: str | None = None) -> Table:
    for column in columns:
        # A cut-off value ("lorazepam-or…") is worse than a folded one: never truncate.
        column.overflow = "fold"
    return Table(
        *columns,
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        title=title,
        title_justify="left",
        title_style="bold",
        pad_edge=False,
        show_edge=False,
    )


def _fixed(header: str) -> Column:
    """A column whose values should not wrap: numbers with units, ids a request refers to."""
    return Column(header, no_wrap=True)


def _route(route: Route) -> str:
    return "IV" if route is Route.IV else route.value


def _with_id(name: str, ident: str) -> Text:
    # The id is what requests and reasons use (e.g. `phases.induction.max_rate`); the name is what
    # people say. Showing both lets a reader map a decision's reason back to this table.
    return Text.assemble(name, "\n", (ident, "dim"))


VITALS: dict[VitalSign, tuple[str, str]] = {
    VitalSign.TEMPERATURE_C: ("temperature", "°C"),
    VitalSign.SYSTOLIC_MMHG: ("systolic BP", "mmHg"),
    VitalSign.DIASTOLIC_MMHG: ("diastolic BP", "mmHg"),
    VitalSign.HEART_RATE_BPM: ("heart rate", "bpm"),
    VitalSign.SPO2_PCT: ("SpO2", "%"),
    VitalSign.RESPIRATORY_RATE: ("respiratory rate", "/min"),
}

LIMIT_MEANING = {
    LimitKind.SOFT: "soft: needs a physician's acknowledgement and a reason",
    LimitKind.HARD: "hard: refused",
}

RESPONSE = {
    EventResponse.PRN: "PRN medication",
    EventResponse.PHYSICIAN_EVALUATION: "physician evaluation",
    EventResponse.STOP: "stop the infusion",
}

WHILE_ACTIVE = {
    InfusionAction.CONTINUE: "continue titration",
    InfusionAction.HOLD: "hold titration",
    InfusionAction.STOP: "stop infusion",
}


def render_protocol(p: Protocol) -> Group:
    """The whole protocol as a nurse or physician reads it at the bedside or in clinic."""
    parts: list[RenderableType] = [
        Text(p.title, style="bold"),
        Text(f"{p.id} version {p.version} · {p.drug}, {p.delivery} infusions", style="dim"),
        "",
        _facts([("Source", p.source), *([("Notes", p.notes)] if p.notes else [])]),
        "",
    ]
    for section in (
        _premedication,
        _limits,
        _phases,
        _eligibility,
        _monitoring,
        _adverse_events,
        _follow_ups,
        _responder,
    ):
        parts += [*section(p), ""]
    return Group(*parts[:-1])


def _premedication(p: Protocol) -> list[RenderableType]:
    out: list[RenderableType] = [_heading("Premedication, before every infusion")]
    if not p.premedication:
        return [*out, Text("none")]
    table = _table(_fixed("Drug"), _fixed("Dose"), _fixed("Route"), Column("When"))
    for m in p.premedication:
        table.add_row(
            Text(m.drug),
            f"{_n(m.dose_mg)} mg",
            _route(m.route),
            f"{m.minutes_before_start} min before the infusion starts",
        )
    return [*out, table]


def _limits(p: Protocol) -> list[RenderableType]:
    lim = p.limits
    facts = _facts(
        [
            ("Program maximum", f"{_rates(lim.hard_max_rate)}: never exceeded, no override"),
            ("Rate above a phase maximum", LIMIT_MEANING[lim.phase_max]),
            ("Step larger than the phase step", LIMIT_MEANING[lim.step_above_protocol_step]),
            ("Step sooner than the step interval", LIMIT_MEANING[lim.step_before_interval]),
            ("Tenfold rate change", LIMIT_MEANING[lim.tenfold_change]),
            ("Pump precision", f"rates are rounded down to {_n(lim.rate_increment_mg_per_h)} mg/h"),
        ]
    )
    return [_heading("Rate limits"), facts]


def _infusions(phase: Phase) -> str:
    if phase.last_infusion is None:
        return f"{phase.first_infusion} onwards"
    if phase.last_infusion == phase.first_infusion:
        return str(phase.first_infusion)
    return f"{phase.first_infusion}–{phase.last_infusion}"


def _days(value: int | None) -> str:
    return "–" if value is None else str(value)


def _start(phase: Phase) -> str:
    start = _rate(phase.start_rate)
    if phase.start_rule is StartRule.PREVIOUS_MAX_TOLERATED:
        return f"last infusion's tolerated maximum, else {start}"
    return start


def _step(phase: Phase) -> tuple[str, str]:
    if phase.titration is TitrationMode.NONE or phase.step is None:
        return "none", "–"
    if phase.titration is TitrationMode.BETWEEN_SESSIONS:
        return f"+{_rate(phase.step)}", "each session"
    return f"+{_rate(phase.step)}", f"{phase.step_interval_minutes} min"


def _interval(phase: Phase) -> str:
    parts = []
    if phase.min_interval_days is not None:
        parts.append(f"at least {phase.min_interval_days}")
    if phase.target_interval_days is not None:
        parts.append(f"target {phase.target_interval_days}")
    return ", ".join(parts) or "–"


def _phases(p: Protocol) -> list[RenderableType]:
    # One column per phase, like a dosing chart: a nurse reads down the column of the infusion at
    # hand, and with few phases and many attributes it fits a narrow terminal without wrapping.
    table = _table(
        _fixed(""),
        *(Column(Text.assemble((ph.name, "bold"), "\n", (ph.id, "dim"))) for ph in p.phases),
    )
    steps = [_step(ph) for ph in p.phases]
    rows: list[tuple[str, list[str]]] = [
        ("Infusion", [_infusions(ph) for ph in p.phases]),
        ("Days after previous", [_interval(ph) for ph in p.phases]),
        ("Session", [f"{ph.session_minutes} min" for ph in p.phases]),
        ("Start rate", [_start(ph) for ph in p.phases]),
        ("Step", [step for step, _ in steps]),
        ("Step every", [every for _, every in steps]),
        ("Maximum rate", [_rates(ph.max_rate) for ph in p.phases]),
        ("Responders only", ["yes" if ph.requires_responder else "no" for ph in p.phases]),
        ("Continuation check", ["yes" if ph.continuation_check else "no" for ph in p.phases]),
    ]
    for label, cells in rows:
        table.add_row(Text(label, style="bold"), *(Text(c) for c in cells))
    out: list[RenderableType] = [_heading("Phases and rates"), table]
    rates = [*p.limits.hard_max_rate]
    for ph in p.phases:
        rates += [ph.start_rate, *ph.max_rate, *([ph.step] if ph.step else [])]
    if any(r.unit is not RateUnit.MG_PER_H for r in rates):
        out.append(
            Text(
                "Weight-based rates are worked out in mg/h for each patient's weight, rounded down "
                f"to {_n(p.limits.rate_increment_mg_per_h)} mg/h; the lower of two limits applies."
            )
        )
    out.append(
        Text(
            "Continuation check: the follow-up of the previous infusion must allow going on "
            "(see Responders)."
        )
    )
    return out


def _applies(check: Check, p: Protocol) -> str:
    if check.period is not None:
        period = next(x for x in p.eligibility.periods if x.id == check.period)
        end = f" to {period.end}" if period.end else ""
        who = "premenopausal women" if check.only_female_premenopausal else "infusions"
        return f"{who} from {period.start}{end}"
    return "premenopausal women" if check.only_female_premenopausal else "every infusion"


def _eligibility(p: Protocol) -> list[RenderableType]:
    e = p.eligibility
    out: list[RenderableType] = [
        _heading("Eligibility"),
        _facts(
            [
                ("Minimum age", f"{e.min_age_years} years"),
                ("Infusions", f"at most {e.max_infusions}" if e.max_infusions else "no maximum"),
            ]
        ),
    ]
    if e.exclusions:
        table = _table(
            Column("Exclusion", ratio=1), _fixed("ID"), _fixed("Kind"), title="Exclusions"
        )
        for x in e.exclusions:
            kind = "hard: not eligible" if x.kind is LimitKind.HARD else "soft: physician review"
            table.add_row(Text(x.label), Text(x.id), kind)
        out += ["", table]
    if e.checks:
        optional = any(not c.required for c in e.checks)
        table = _table(
            Column("Check", ratio=1, min_width=20),
            _fixed("ID"),
            _fixed("Kind"),
            _fixed("Applies to"),
            *([_fixed("Required")] if optional else []),
            title="Before each infusion" + ("" if optional else " (all required)"),
        )
        for c in e.checks:
            cells: list[RenderableType] = [
                Text(c.label),
                Text(c.id),
                _words(c.kind.value),
                _applies(c, p),
            ]
            table.add_row(*cells, *(["yes" if c.required else "no"] if optional else []))
        out += ["", table]
        if any(c.only_female_premenopausal for c in e.checks):
            out.append(Text("Women whose menopausal status is unknown count as premenopausal."))
    if e.periods:
        table = _table(
            Column("Period", ratio=1), _fixed("ID"), _fixed("From"), _fixed("To"), title="Periods"
        )
        for period in e.periods:
            table.add_row(
                Text(period.label),
                Text(period.id),
                str(period.start),
                str(period.end or "no end date"),
            )
        out += ["", table]
    return out


def _threshold(alert: VitalAlert) -> str:
    unit = VITALS[alert.vital][1]
    sep = "" if unit in ("%", "°C", "/min") else " "
    if alert.above is not None:
        return f"> {_n(alert.above)}{sep}{unit}"
    assert alert.below is not None
    return f"< {_n(alert.below)}{sep}{unit}"


def _monitoring(p: Protocol) -> list[RenderableType]:
    m = p.monitoring
    how = "continuously" if m.continuous else "at each recording"
    facts = _facts(
        [
            ("Vital signs", ", ".join(VITALS[v][0] for v in m.vitals) + f", monitored {how}"),
            ("Recorded", f"every {m.record_every_minutes} min"),
        ]
    )
    out: list[RenderableType] = [_heading("Monitoring during the infusion"), facts]
    if m.alerts:
        table = _table(
            _fixed("Vital sign"), _fixed("Alert when"), Column("Handled as event"), title="Alerts"
        )
        for a in m.alerts:
            table.add_row(VITALS[a.vital][0], _threshold(a), Text(_words(a.event)))
        out += ["", table]
    return out


def _prn_row(m: PrnMedication) -> list[RenderableType]:
    doses = "once" if m.max_doses == 1 else (str(m.max_doses) if m.max_doses else "–")
    if m.only_if_oral_not_tolerated:
        condition = "only if oral medication is not tolerated"
    elif m.only_if_oral_tolerated:
        condition = "only if oral medication is tolerated"
    else:
        condition = ""
    return [
        _with_id(f"{m.drug} {_n(m.dose_mg)} mg {_route(m.route)}", m.id),
        f"every {_minutes(m.interval_minutes)}" if m.interval_minutes else "–",
        f"{_n(m.cap_mg)} mg / {_hours(m.cap_window_hours)}" if m.cap_mg else "–",
        doses,
        condition,
    ]


def _adverse_events(p: Protocol) -> list[RenderableType]:
    ae = p.adverse_events
    out: list[RenderableType] = [_heading("Adverse events")]
    if ae.prn:
        table = _table(
            _fixed("Medication"),
            _fixed("Repeat"),
            _fixed("Drug cap"),
            _fixed("Doses per\nsession"),
            Column("When", ratio=1),
            title="PRN (as-needed) medications",
        )
        for m in ae.prn:
            table.add_row(*_prn_row(m))
        out += [table, ""]
    table = _table(
        _fixed("Event"),
        _fixed("Table 5 category"),
        _fixed("Response"),
        Column("PRN, in order", ratio=1),
        _fixed("While active"),
        title="Events",
    )
    rules = [*ae.events, *([ae.unknown_event] if ae.unknown_event else [])]
    for rule in rules:
        term = "any other event" if rule is ae.unknown_event else _words(rule.term)
        table.add_row(
            Text(term),
            rule.category.value,
            RESPONSE[rule.response],
            Text(", then ".join(rule.prn) if rule.prn else "–"),
            WHILE_ACTIVE[rule.infusion_action],
        )
    out.append(table)
    options = ", ".join(
        f"reduce by {_plural(ae.reduce_by_steps, 'step')}"
        if o is PhysicianOption.REDUCE
        else ("PRN medication" if o is PhysicianOption.PRN_MEDICATION else _words(o.value))
        for o in ae.physician_options
    )
    counts = (
        f"PRN caps: {'yes' if ae.premedication_counts_toward_cap else 'no'}; "
        f"PRN intervals: {'yes' if ae.premedication_counts_toward_interval else 'no'}"
    )
    across = (
        "yes: a dose by one route starts the interval for the other routes"
        if ae.interval_across_routes
        else "no: each route has its own interval"
    )
    facts: list[tuple[str, str | Text]] = [("Physician evaluation", f"may choose: {options}")]
    if ae.prn:
        # These settings only change how PRN doses are counted; without PRNs they mean nothing.
        if p.premedication:
            facts.append(("Premedication counts toward", counts))
        facts.append(("PRN interval across routes", across))
    return [*out, "", _facts(facts)]


def _follow_ups(p: Protocol) -> list[RenderableType]:
    out: list[RenderableType] = [_heading("Follow-up after each infusion")]
    if not p.follow_ups:
        return [*out, Text("none")]
    table = _table(
        Column("Follow-up", min_width=18),
        _fixed("Kind"),
        _fixed("When"),
        Column("Assesses", ratio=1),
    )
    for f in p.follow_ups:
        when = f"{_hours(f.after_hours)} after"
        if f.window_hours:
            when += f", ± {_hours(f.window_hours)}"
        table.add_row(
            _with_id(f.label, f.id),
            f.kind.value,
            when,
            Text(", ".join(_words(a) for a in f.assesses)),
        )
    return [*out, table]


def _bands(p: Protocol) -> str:
    out: list[str] = []
    lower: float | None = None
    for band in p.responder.duration_bands:
        if band.below_days is None:
            span = f"{_n(lower)} days or more" if lower is not None else "any"
        elif lower is None:
            span = f"under {_n(band.below_days)} days"
        else:
            span = f"{_n(lower)} to under {_n(band.below_days)} days"
        out.append(f"{band.label} ({span})")
        lower = band.below_days
    return "; ".join(out)


def _responder(p: Protocol) -> list[RenderableType]:
    r = p.responder
    qualifiers = ", ".join(f"'{q}'" for q in r.positive_qualifiers)
    definition = (
        f"≥ {_n(r.nprs_reduction_pct)}% less pain on the NPRS, or relief described as {qualifiers}"
    )
    if r.requires_function_or_analgesic_reduction:
        definition += "; and better function or fewer adjuvant analgesics"
    short = "stop" if r.first_infusion_short_relief is ShortFirstRelief.STOP else "may continue"
    first = f"≥ {_n(r.first_infusion_relief_hours)} h after the first infusion (shorter: {short})"
    later = (
        f"≥ {_n(r.subsequent_relief_days)} days after later infusions, checked when planning "
        f"infusion {r.subsequent_relief_checked_from_infusion} onwards"
    )
    return [
        _heading("Responders"),
        _facts(
            [
                ("Responder", definition),
                ("Relief to continue", first),
                ("", later),
                ("Relief duration bands", _bands(p)),
            ]
        ),
    ]
