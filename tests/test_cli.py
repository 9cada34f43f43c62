"""The `kip` command line, run as users and EHR scripts run it: the installed console script in a
subprocess, so the entry point, exit codes and the exact stderr line are what is tested."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kip.protocol.model import Protocol

ROOT = Path(__file__).resolve().parents[1]
KIP = Path(sys.executable).parent / "kip"
EXAMPLES = ROOT / "examples"
SCHEMAS = ROOT / "docs" / "schemas"
SHIPPED = ROOT / "src" / "kip" / "protocol" / "protocols"

# command -> its example request
EXAMPLE = {
    "plan": "plan-infusion-2.json",
    "titrate": "titrate-first-infusion.json",
    "adverse-event": "adverse-event-nausea.json",
    "classify": "classify-responder.json",
}
COMMANDS = list(EXAMPLE)

PLAN_KEYS = {
    "eligible",
    "blockers",
    "infusion_number",
    "phase",
    "earliest_date",
    "start_rate_mg_per_h",
    "step_mg_per_h",
    "max_rate_mg_per_h",
    "session_minutes",
    "premedication",
    "checklist",
    "reasons",
}


def kip(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("KIP_DEBUG", "COLUMNS")}
    return subprocess.run(
        [str(KIP), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, **(env or {})},
        timeout=120,
    )


def example(command: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / EXAMPLE[command]).read_text(encoding="utf-8"))
    return data


def assert_input_error(result: subprocess.CompletedProcess[str], *mentions: str) -> str:
    """Exit 2, nothing on stdout, exactly one `error:` line on stderr naming the field."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    for mention in mentions:
        assert mention in line, (mention, line)
    return line


def decide(command: str, request: dict[str, Any] | str) -> subprocess.CompletedProcess[str]:
    text = request if isinstance(request, str) else json.dumps(request)
    return kip("protocol", command, "-", stdin=text)


# --------------------------------------------------------------------------- basics


def test_version() -> None:
    result = kip("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == "kip 0.1.0"


@pytest.mark.parametrize("args", [(), ("protocol",), ("protocol", "plan"), ("protocol", "show")])
def test_no_arguments_show_help(args: tuple[str, ...]) -> None:
    result = kip(*args)
    assert "Usage: kip" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_every_command_has_help() -> None:
    for command in ["list", "show", "validate", "schema", *COMMANDS]:
        result = kip("protocol", command, "--help")
        assert result.returncode == 0, command
        assert "Usage: kip protocol " + command in result.stdout


# --------------------------------------------------------------------------- usage errors
# Click's own usage errors (unknown option, missing argument, bad choice) come out as every other
# kip error does: one line naming the option or argument and the rule, exit code 2.

USAGE_ERRORS = [
    (("--bogus",), "error: --bogus: no such option (try 'kip --help')"),
    (("nocmd",), "error: kip: no such command 'nocmd' (try 'kip --help')"),
    (
        ("protocol", "plan", "a.json", "b.json"),
        "error: kip protocol plan: got unexpected extra argument(s) (b.json) "
        "(try 'kip protocol plan --help')",
    ),
    (
        ("protocol", "plan", "--protocol-file", "x.toml"),
        "error: FILE: required (try 'kip protocol plan --help')",
    ),
    (
        ("protocol", "list", "--format", "yaml"),
        "error: --format: no such option (try 'kip protocol list --help')",
    ),
    (
        ("report", "--forma", "html"),
        "error: --forma: no such option; did you mean --format or --from? "
        "(try 'kip report --help')",
    ),
    (
        ("report", "--format", "docx"),
        "error: --format: 'docx' is not one of 'terminal', 'html', 'markdown', 'csv', 'xlsx', "
        "'pdf' (try 'kip report --help')",
    ),
    (
        ("report", "--from", "yesterday"),
        "error: --from: 'yesterday' does not match the formats '%Y-%m-%d' "
        "(try 'kip report --help')",
    ),
    (
        ("report", "--etiology", "migraine"),
        "error: --etiology: 'migraine' is not one of 'tumor_compression', 'cipn', "
        "'postsurgical', 'postradiation' (try 'kip report --help')",
    ),
    (("import",), "error: DIR: required (try 'kip import --help')"),
    (("export-cohort",), "error: DIR: required (try 'kip export-cohort --help')"),
    (
        ("serve", "--port", "eighty"),
        "error: --port: must be a whole number (try 'kip serve --help')",
    ),
    (
        ("serve", "--port", "0"),
        "error: --port: must be between 1 and 65535 (try 'kip serve --help')",
    ),
    (("audit", "verify", "--x"), "error: --x: no such option (try 'kip audit verify --help')"),
    (("demo", "--bogus"), "error: --bogus: no such option (try 'kip demo --help')"),
]


@pytest.mark.parametrize(
    ("args", "expected"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS]
)
def test_usage_error_is_one_line(args: tuple[str, ...], expected: str) -> None:
    assert assert_input_error(kip(*args)) == expected


@pytest.mark.parametrize(
    "args", [("--help",), ("report", "--help"), ("protocol", "plan", "--help")]
)
def test_help_keeps_its_formatting(args: tuple[str, ...]) -> None:
    result = kip(*args)
    assert result.returncode == 0 and result.stderr == ""
    assert f"Usage: kip {' '.join(args[:-1])}".strip() in result.stdout
    assert "─ Options ─" in result.stdout  # Rich's panels, not a one-line error
    assert len(result.stdout.splitlines()) > 10


# --------------------------------------------------------------------------- list


def test_list_table() -> None:
    result = kip("protocol", "list")
    assert result.returncode == 0, result.stderr
    assert "mskcc-2021" in result.stdout
    assert "1.0.0" in result.stdout
    assert "intermittent" in result.stdout


def test_list_json() -> None:
    result = kip("protocol", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    mskcc = next(r for r in rows if r["id"] == "mskcc-2021")
    assert mskcc == {
        "id": "mskcc-2021",
        "version": "1.0.0",
        "title": "Extended IV ketamine protocol for cancer-related neuropathic pain",
        "phases": 3,
        "delivery": "intermittent",
        "drug": "ketamine",
    }


# --------------------------------------------------------------------------- show


@pytest.fixture(scope="module")
def shown() -> str:
    result = kip("protocol", "show", "mskcc-2021")
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "text",
    [
        "10 mg/h",  # first infusion start
        "+5 mg/h",  # step
        "25 mg/h",  # first infusion max, induction/maintenance start
        "40 mg/h",  # induction max
        "70 mg/h",  # maintenance max and program hard limit
        "240 min",  # session length
        "30 min",  # step interval, premedication lead time
        "ondansetron",
        "4 mg",
        "lorazepam",
        "0.5 mg",
        "2 mg / 24 h",  # lorazepam cap
        "8 mg / 24 h",  # ondansetron cap
        "every 4 h",
        "every 6 h",
        "at least 7, target 7",
        "at least 21, target 28",
        "4 onwards",
        "18 years",
        "diabetes_mellitus",
        "prior_peripheral_neuropathy",
        "pregnancy_test",
        "premenopausal women",
        "sars_cov_2_test",
        "infusions from 2020-03-16",
        "> 120 bpm",
        "< 92%",
        "tachycardia",
        "gastrointestinal",
        "physician evaluation",
        "hold titration",
        "stop infusion",
        "lorazepam-oral, then",
        "only if oral medication is not tolerated",
        "PRN caps: yes; PRN intervals: no",
        "24-hour phone call",
        "4 weeks after",
        "≥ 30%",
        "'excellent'",
        "≥ 24 h after the first infusion",
        "≥ 14 days after later infusions",
        "2-3 weeks",
        "Oh D, Haffey P",
    ],
)
def test_show_has_the_protocol_numbers(shown: str, text: str) -> None:
    assert text in shown


def test_show_fits_100_columns_when_piped(shown: str) -> None:
    widest = max(len(line.rstrip()) for line in shown.splitlines())
    assert widest <= 100


def test_show_json_is_the_validated_protocol() -> None:
    result = kip("protocol", "show", "mskcc-2021", "--json")
    assert result.returncode == 0, result.stderr
    protocol = Protocol.model_validate_json(result.stdout)
    assert protocol.id == "mskcc-2021"
    assert [p.id for p in protocol.phases] == ["first", "induction", "maintenance"]


def test_show_file(tmp_path: Path) -> None:
    text = (SHIPPED / "mskcc-2021.toml").read_text(encoding="utf-8")
    # Text from a protocol file is printed as written, never read as Rich markup.
    text = text.replace(
        'title = "Extended IV ketamine protocol for cancer-related neuropathic pain"',
        'title = "Local copy [red]draft[/red] [v2]"',
    )
    path = tmp_path / "local.toml"
    path.write_text(text, encoding="utf-8")
    result = kip("protocol", "show", "--file", str(path))
    assert result.returncode == 0, result.stderr
    assert "Local copy [red]draft[/red] [v2]" in result.stdout
    assert "70 mg/h" in result.stdout


def test_show_weight_based_protocol() -> None:
    result = kip("protocol", "show", "schwartzman-2009")
    assert result.returncode == 0, result.stderr
    assert "lower of 0.35 mg/kg/h and 25 mg/h" in result.stdout


def test_show_file_id_mismatch() -> None:
    result = kip("protocol", "show", "other-id", "--file", str(SHIPPED / "mskcc-2021.toml"))
    assert_input_error(result, "protocol:", "other-id")


def test_show_unknown_protocol() -> None:
    assert_input_error(kip("protocol", "show", "nope"), "protocol:", "unknown protocol 'nope'")


def test_show_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    assert_input_error(kip("protocol", "show", "--file", str(missing)), str(missing))


# --------------------------------------------------------------------------- validate


def test_validate_ok() -> None:
    result = kip("protocol", "validate", str(SHIPPED / "mskcc-2021.toml"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok: mskcc-2021 1.0.0"


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = (SHIPPED / "mskcc-2021.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "mentions"),
    [
        # A misspelt key is an error, not silently ignored.
        (
            "session_minutes = 240",
            "session_minutes = 240\nsesion_minutes = 240",
            ("phases[0].sesion_minutes", "is not a field here"),
        ),
        (
            "session_minutes = 240",
            "sesion_minutes = 240",
            ("phases[0].session_minutes", "is required"),
        ),
        (
            "session_minutes = 240",
            "session_minutes = -240",
            ("phases[0].session_minutes", "must be more than 0"),
        ),
        ("dose_mg = 4\n", "dose_mg = 0\n", ("premedication[0].dose_mg",)),
        ("cap_mg = 2.0", "cap_mg = 0", ("adverse_events.prn[0].cap_mg",)),
        ('prn = ["ondansetron-oral"]', 'prn = ["ondansetron-iv"]', ("ondansetron-iv",)),
        ("[limits]", "[limits", ("not valid TOML",)),
    ],
)
def test_validate_broken_file(
    tmp_path: Path, old: str, new: str, mentions: tuple[str, ...]
) -> None:
    path = _broken(tmp_path, old, new)
    assert_input_error(kip("protocol", "validate", str(path)), str(path), *mentions)


def test_validate_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert_input_error(kip("protocol", "validate", str(missing)), str(missing), "cannot read")


# --------------------------------------------------------------------------- schema

SCHEMA_NAMES = [
    "protocol",
    "plan-request",
    "plan-result",
    "titrate-request",
    "titrate-result",
    "adverse-event-request",
    "adverse-event-result",
    "classify-request",
    "classify-result",
]


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_json(name: str) -> None:
    result = kip("protocol", "schema", name)
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["type"] == "object"
    assert "properties" in schema


def test_schema_request_lists_required_fields() -> None:
    schema = json.loads(kip("protocol", "schema", "plan-request").stdout)
    assert {"on_date", "patient"} <= set(schema["required"])
    assert schema["additionalProperties"] is False


def test_schema_unknown_name() -> None:
    assert_input_error(kip("protocol", "schema", "nope"), "NAME:", "plan-request")


def test_docs_schemas_are_current(tmp_path: Path) -> None:
    result = kip("protocol", "schema", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    generated = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.json")}
    documented = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.json")}
    assert sorted(generated) == sorted(f"{n}.schema.json" for n in SCHEMA_NAMES)
    stale = sorted(
        name
        for name in generated.keys() | documented.keys()
        if generated.get(name) != documented.get(name)
    )
    assert not stale, (
        f"docs/schemas is out of date with the models ({', '.join(stale)}); "
        "run: .venv/bin/kip protocol schema --out docs/schemas"
    )


# --------------------------------------------------------------------------- the decisions


def run_example(command: str) -> dict[str, Any]:
    result = kip("protocol", command, str(EXAMPLES / EXAMPLE[command]))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out: dict[str, Any] = json.loads(result.stdout)
    assert out["protocol"] == "mskcc-2021"
    assert out["protocol_version"] == "1.0.0"
    assert out["reasons"], "every decision gives its reasons"
    assert all(set(r) == {"rule", "text"} for r in out["reasons"])
    return out


def test_plan_example() -> None:
    out = run_example("plan")
    assert set(out) >= PLAN_KEYS
    assert out["eligible"] is True
    assert out["blockers"] == []
    assert out["infusion_number"] == 2
    assert out["phase"] == "induction"
    assert out["earliest_date"] == "2019-03-11"
    assert out["start_rate_mg_per_h"] == 25
    assert out["step_mg_per_h"] == 5
    assert out["max_rate_mg_per_h"] == 40
    assert out["session_minutes"] == 240
    premedication = {(p["drug"], p["dose_mg"], p["route"]) for p in out["premedication"]}
    assert premedication == {("ondansetron", 4, "oral"), ("lorazepam", 0.5, "oral")}
    checks = {c["id"]: c["status"] for c in out["checklist"]}
    assert checks["pregnancy_test"] == "pending"  # she is premenopausal
    assert out["ready_to_start"] is False


def test_titrate_example() -> None:
    out = run_example("titrate")
    assert out["action"] == "step_up"
    assert out["rate_mg_per_h"] == 15
    assert out["phase"] == "first"
    assert out["max_rate_mg_per_h"] == 25
    assert out["hard_limit_mg_per_h"] == 70
    assert out["rate_mg_per_h"] <= out["max_rate_mg_per_h"]


def test_adverse_event_example() -> None:
    out = run_example("adverse-event")
    assert out["event"] == "nausea"
    assert out["category"] == "gastrointestinal"
    assert out["response"] == "prn"
    assert out["recommended_prn"] == "ondansetron-oral"
    ondansetron = next(p for p in out["prn"] if p["id"] == "ondansetron-oral")
    assert ondansetron["dose_mg"] == 4
    assert ondansetron["allowed_now"] is True
    assert ondansetron["remaining_mg"] == 4  # the 4 mg premedication counts toward the 8 mg cap


def test_classify_example() -> None:
    out = run_example("classify")
    assert out["responder"] is True
    assert out["duration_band"] == "2-3 weeks"
    assert out["continuation"]["decision"] == "continue"


@pytest.mark.parametrize("command", COMMANDS)
def test_stdin_gives_the_same_answer(command: str) -> None:
    from_file = kip("protocol", command, str(EXAMPLES / EXAMPLE[command]))
    from_stdin = decide(command, (EXAMPLES / EXAMPLE[command]).read_text(encoding="utf-8"))
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout == from_file.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_protocol_file_option(command: str) -> None:
    path = str(SHIPPED / "mskcc-2021.toml")
    shipped = kip("protocol", command, str(EXAMPLES / EXAMPLE[command]))
    from_file = kip("protocol", command, "--protocol-file", path, str(EXAMPLES / EXAMPLE[command]))
    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout == shipped.stdout
    # A request that names no protocol takes the file's.
    request = example(command)
    del request["protocol"]
    result = kip("protocol", command, "--protocol-file", path, "-", stdin=json.dumps(request))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_protocol_file_must_match_the_request(command: str) -> None:
    path = str(SHIPPED / "schwartzman-2009.toml")
    result = kip("protocol", command, "--protocol-file", path, str(EXAMPLES / EXAMPLE[command]))
    assert_input_error(result, "protocol:", "mskcc-2021", "schwartzman-2009")


@pytest.mark.parametrize("command", COMMANDS)
def test_protocol_file_missing(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    result = kip(
        "protocol", command, "--protocol-file", str(missing), str(EXAMPLES / EXAMPLE[command])
    )
    assert_input_error(result, str(missing))


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + (EXAMPLES / EXAMPLE["plan"]).read_bytes())
    result = kip("protocol", "plan", str(path))
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- bad input


def _set(request: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy with the dotted path (list indexes as numbers) set; value DELETE removes it."""
    out = copy.deepcopy(request)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node: Any = out
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return out


DELETE = object()

# (command, dotted path, new value, field named in the error)
BAD_FIELDS = [
    # missing field
    ("plan", "on_date", DELETE, "on_date"),
    ("plan", "patient.sex", DELETE, "patient.sex"),
    ("titrate", "infusion_number", DELETE, "infusion_number"),
    ("adverse-event", "event", DELETE, "event"),
    ("classify", "infusion_number", DELETE, "infusion_number"),
    # wrong type
    ("plan", "patient.age_years", "52", "patient.age_years"),
    ("plan", "history", {"date": "2019-03-04"}, "history"),
    ("plan", "on_date", "11/03/2019", "on_date"),
    ("titrate", "elapsed_minutes", [30], "elapsed_minutes"),
    ("adverse-event", "can_take_oral", "yes", "can_take_oral"),
    ("classify", "nprs", 3.5, "nprs"),
    # a rate (or dose) as text is refused, not guessed
    ("titrate", "rate_history.0.rate_mg_per_h", "25", "rate_history[0].rate_mg_per_h"),
    ("titrate", "proposed_rate_mg_per_h", "25", "proposed_rate_mg_per_h"),
    ("plan", "history.0.max_rate_mg_per_h", "25", "history[0].max_rate_mg_per_h"),
    ("adverse-event", "given.0.dose_mg", "4", "given[0].dose_mg"),
    # out of range
    ("plan", "patient.weight_kg", -68, "patient.weight_kg"),
    ("plan", "patient.weight_kg", 0, "patient.weight_kg"),
    ("titrate", "patient_weight_kg", -68, "patient_weight_kg"),
    ("titrate", "rate_history.0.rate_mg_per_h", -10, "rate_history[0].rate_mg_per_h"),
    ("classify", "nprs", 11, "nprs"),
    ("adverse-event", "minute", -5, "minute"),
    # unknown field: a misspelt key is reported, not ignored
    ("plan", "patient.wieght_kg", 68, "patient.wieght_kg"),
    ("titrate", "elapsed_minute", 30, "elapsed_minute"),
    # dates and times out of order
    ("plan", "history", [{"date": "2019-03-04"}, {"date": "2019-02-25"}], "history[1].date"),
    ("plan", "on_date", "2019-03-01", "on_date"),
    (
        "titrate",
        "rate_history",
        [{"minute": 30, "rate_mg_per_h": 15}, {"minute": 0, "rate_mg_per_h": 10}],
        "rate_history[1].minute",
    ),
    ("titrate", "rate_history.0.minute", 45, "rate_history[0].minute"),
    ("adverse-event", "given.0.minute", 90, "given[0].minute"),
]


@pytest.mark.parametrize(
    ("command", "path", "value", "field"),
    BAD_FIELDS,
    ids=[f"{c}-{p}-{'missing' if v is DELETE else v!r}" for c, p, v, _ in BAD_FIELDS],
)
def test_bad_field(command: str, path: str, value: Any, field: str) -> None:
    result = decide(command, _set(example(command), path, value))
    assert_input_error(result, f"error: {field}:")


# (command, dotted path, new value, the whole error line): schema errors in kip's words, as the
# engine's own checks word theirs, not pydantic's ("Input should be a valid integer, ...").
PLAIN_ERRORS = [
    ("classify", "infusion_number", DELETE, "error: infusion_number: is required"),
    ("plan", "patient.age_years", "52", "error: patient.age_years: must be a whole number"),
    ("plan", "on_date", "11/03/2019", "error: on_date: must be a date, YYYY-MM-DD"),
    ("classify", "nprs", 11, "error: nprs: must be between 0 and 10"),
    ("plan", "patient.wieght_kg", 68, "error: patient.wieght_kg: is not a field here"),
    ("adverse-event", "can_take_oral", "yes", "error: can_take_oral: must be true or false"),
    (
        "classify",
        "patient_choice",
        "maybe",
        "error: patient_choice: must be one of: continue, stop",
    ),
]


@pytest.mark.parametrize(
    ("command", "path", "value", "line"),
    PLAIN_ERRORS,
    ids=[f"{c}-{p}-{'missing' if v is DELETE else v!r}" for c, p, v, _ in PLAIN_ERRORS],
)
def test_schema_errors_read_plainly(command: str, path: str, value: Any, line: str) -> None:
    assert assert_input_error(decide(command, _set(example(command), path, value))) == line


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_protocol(command: str) -> None:
    result = decide(command, _set(example(command), "protocol", "no-such-protocol"))
    assert_input_error(result, "error: protocol:", "no-such-protocol", "mskcc-2021")


@pytest.mark.parametrize("command", COMMANDS)
def test_invalid_json(command: str) -> None:
    text = (EXAMPLES / EXAMPLE[command]).read_text(encoding="utf-8").replace('"protocol":', "", 1)
    result = decide(command, text)
    assert_input_error(result, "error: input: not valid JSON at line 2 column")


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        ("", ("error: input:", "empty")),
        ("   \n", ("error: input:", "empty")),
        ("[]", ("error: input:", "object")),
        ('{"on_date": "2019-03-11",', ("error: input: not valid JSON at line 1",)),
        ('{"on_date": "2019-03-11", "on_date": "2019-03-12"}', ("error: on_date:", "twice")),
        ('{"patient": {"weight_kg": NaN}}', ("error: input:", "NaN")),
        ('{"patient": {"weight_kg": Infinity}}', ("error: input:", "Infinity")),
    ],
)
def test_malformed_json(text: str, mentions: tuple[str, ...]) -> None:
    assert_input_error(decide("plan", text), *mentions)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"event": "naus\u00e9e"}'.encode("latin-1"))
    assert_input_error(kip("protocol", "adverse-event", str(path)), "error: input:", "UTF-8")


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_request_file(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = kip("protocol", command, str(missing))
    assert_input_error(result, f"error: {missing}:", "No such file")


def test_request_path_is_a_directory(tmp_path: Path) -> None:
    assert_input_error(kip("protocol", "plan", str(tmp_path)), f"error: {tmp_path}:")


# --------------------------------------------------------------------------- internal errors


def test_internal_error_is_one_line_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kip import cli
    from kip.protocol import loader

    def broken() -> list[str]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(loader, "shipped_ids", broken)
    monkeypatch.setattr(sys, "argv", ["kip", "protocol", "list"])
    monkeypatch.delenv("KIP_DEBUG", raising=False)
    assert cli.main() == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: internal error: RuntimeError: disk on fire (run with KIP_DEBUG=1 for the traceback)"
    ]

    monkeypatch.setenv("KIP_DEBUG", "1")
    assert cli.main() == 1
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert err.splitlines()[-1] == "error: internal error: RuntimeError: disk on fire"
