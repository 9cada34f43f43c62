"""The analysis dataset (docs/analysis-dataset.md) as SQL views over the registry.

`kip report --engine 'sqlite:///var/kip.sqlite3?prefix=analysis_'` reads these views as it reads
the dataset's tables. They carry research ids only: no name, MRN or date of birth leaves the
registry through them (age is computed inside the view).

Definitions, where the registry holds more than the dataset:

- Only given infusions count (completed or stopped early); planned, postponed and cancelled ones
  are not in the record of what a patient received.
- `responder`: a clinician confirmed a response to any infusion (ResponseDecision.responder).
- `pain_or_ae_limited`: a responder whose enrolment ended for adverse events or inadequate relief.
- Relief after an infusion: the longest relief recorded at its 24-hour call or clinic visit, in
  whole days. `relief_days_last_infusion` is reported, as in the study, for responders with two
  or more infusions only.
- `age_years`: at the first given infusion.
- `adjuvants`: the five classes the program reconciles at enrolment (Table 4's), for every
  patient; in use when a medication of the class overlaps the patient's infusions.
- `pandemic_followups`: one row per service-interruption call, describing the infusion it
  follows up.

Booleans and computed integers come out of SQLite untyped; kip.outcomes.engines casts view
columns to the dataset's types when it reads them.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

GIVEN = "('completed', 'stopped')"

# Per vendor: age from two dates, and whole days from hours.
AGE = {
    "sqlite": (
        "(CAST(strftime('%Y', f.first_day) AS INTEGER) - CAST(strftime('%Y', p.date_of_birth) "
        "AS INTEGER) - (strftime('%m-%d', f.first_day) < strftime('%m-%d', p.date_of_birth)))"
    ),
    "postgresql": "CAST(date_part('year', age(f.first_day, p.date_of_birth)) AS INTEGER)",
}
DAYS = {
    "sqlite": "CAST(r.relief_hours / 24 AS INTEGER)",
    "postgresql": "CAST(floor(r.relief_hours / 24) AS INTEGER)",
}
TRUE = {"sqlite": "1", "postgresql": "TRUE"}


def _views(vendor: str) -> list[tuple[str, str]]:
    given = f"SELECT * FROM registry_infusion WHERE status IN {GIVEN}"
    # Relief per given infusion, in whole days.
    relief = (
        f"SELECT r.infusion_id, {DAYS[vendor]} AS days FROM (SELECT infusion_id, "
        "MAX(relief_hours) AS relief_hours FROM registry_followup WHERE status = 'done' AND "
        "kind IN ('call_24h', 'clinic_visit') AND relief_hours IS NOT NULL GROUP BY infusion_id) r"
    )
    band = (
        "CASE WHEN {d} IS NULL THEN NULL WHEN {d} < 14 THEN 'lt_2wk' WHEN {d} < 21 THEN '2_3wk' "
        "ELSE 'ge_3wk' END"
    )
    patients = f"""
        SELECT p.research_id AS patient_id, s.code AS site, {AGE[vendor]} AS age_years,
            p.sex, p.etiology, p.primary_cancer, p.metastases,
            CASE p.etiology WHEN 'tumor_compression' THEN p.compression_location
                WHEN 'cipn' THEN p.cipn_regimen WHEN 'postsurgical' THEN p.surgery_type
                ELSE p.radiation_site END AS etiology_detail,
            (resp.patient_id IS NOT NULL) AS responder,
            (resp.patient_id IS NOT NULL AND lim.patient_id IS NOT NULL) AS pain_or_ae_limited,
            f.n_infusions,
            CASE WHEN resp.patient_id IS NOT NULL AND f.n_infusions >= 2 THEN rl.days END
                AS relief_days_last_infusion,
            {
        band.format(
            d="CASE WHEN resp.patient_id IS NOT NULL AND f.n_infusions >= 2 THEN rl.days END"
        )
    } AS duration_band,
            EXISTS (SELECT 1 FROM registry_adverseevent e JOIN ({given}) g
                ON g.id = e.infusion_id WHERE g.patient_id = p.id) AS any_adverse_event,
            EXISTS (SELECT 1 FROM registry_followup c WHERE c.patient_id = p.id
                AND c.kind = 'interruption_call') AS enrolled_at_pandemic
        FROM registry_patient p
        JOIN registry_site s ON s.id = p.site_id
        JOIN (SELECT patient_id, COUNT(*) AS n_infusions, MIN(planned_on) AS first_day,
                MAX(number) AS last_number FROM ({given}) g0 GROUP BY patient_id) f
            ON f.patient_id = p.id
        LEFT JOIN (SELECT DISTINCT i.patient_id FROM registry_responsedecision d
                JOIN registry_infusion i ON i.id = d.infusion_id
                WHERE d.responder = {TRUE[vendor]}) resp ON resp.patient_id = p.id
        LEFT JOIN (SELECT DISTINCT patient_id FROM registry_enrolment
                WHERE end_reason IN ('adverse_events', 'inadequate_relief')) lim
            ON lim.patient_id = p.id
        LEFT JOIN ({given}) li ON li.patient_id = p.id AND li.number = f.last_number
        LEFT JOIN ({relief}) rl ON rl.infusion_id = li.id
        WHERE p.archived_at IS NULL"""
    infusions = f"""
        SELECT p.research_id AS patient_id, i.number AS infusion_number, i.planned_on AS date,
            i.phase, CAST(i.max_rate_mg_per_h AS REAL) AS max_rate_mg_per_h,
            EXISTS (SELECT 1 FROM registry_adverseevent e WHERE e.infusion_id = i.id)
                AS any_adverse_event
        FROM ({given}) i JOIN registry_patient p ON p.id = i.patient_id
        WHERE p.archived_at IS NULL"""
    adverse_events = f"""
        SELECT p.research_id AS patient_id, i.number AS infusion_number, e.term, e.category,
            CASE WHEN e.resolution = 'self_resolved' THEN 'self_resolved'
                WHEN e.resolution IN ('prn_medication', 'rate_reduced', 'stopped')
                THEN 'intervention' END AS resolution
        FROM registry_adverseevent e JOIN ({given}) i ON i.id = e.infusion_id
        JOIN registry_patient p ON p.id = i.patient_id
        WHERE p.archived_at IS NULL"""
    classes = " UNION ALL ".join(
        f"SELECT '{c}' AS drug_class"
        for c in ("opioid", "snri", "tca", "gabapentinoid", "other_anticonvulsant")
    )
    adjuvants = f"""
        SELECT p.research_id AS patient_id, k.drug_class,
            EXISTS (SELECT 1 FROM registry_adjuvantmedication m WHERE m.patient_id = p.id
                AND m.drug_class = k.drug_class
                AND (m.started_on IS NULL OR m.started_on <= f.last_day)
                AND (m.stopped_on IS NULL OR m.stopped_on >= f.first_day))
                AS in_use_during_ketamine
        FROM registry_patient p
        JOIN (SELECT patient_id, MIN(planned_on) AS first_day, MAX(planned_on) AS last_day
                FROM ({given}) g GROUP BY patient_id) f ON f.patient_id = p.id
        CROSS JOIN ({classes}) k
        WHERE p.archived_at IS NULL"""
    pandemic = f"""
        SELECT p.research_id AS patient_id, i.number AS last_infusion_number,
            (rl.days >= 14) AS responder_last, rl.days AS relief_days_last,
            {band.format(d="rl.days")} AS duration_band_last,
            EXISTS (SELECT 1 FROM registry_adverseevent e WHERE e.infusion_id = i.id
                AND e.category = 'gastrointestinal') AS ae_gi,
            EXISTS (SELECT 1 FROM registry_adverseevent e WHERE e.infusion_id = i.id
                AND e.category = 'neurological') AS ae_neuro,
            EXISTS (SELECT 1 FROM registry_adverseevent e WHERE e.infusion_id = i.id
                AND e.category = 'psychiatric') AS ae_psych,
            c.pain_returned_to_baseline AS pain_returned,
            CASE WHEN c.medication_change = '' THEN NULL ELSE c.medication_change END
                AS med_change
        FROM registry_followup c
        JOIN registry_infusion i ON i.id = c.infusion_id
        JOIN registry_patient p ON p.id = c.patient_id
        LEFT JOIN ({relief}) rl ON rl.infusion_id = i.id
        WHERE c.kind = 'interruption_call' AND p.archived_at IS NULL"""
    return [
        ("analysis_patients", patients),
        ("analysis_infusions", infusions),
        ("analysis_adverse_events", adverse_events),
        ("analysis_adjuvants", adjuvants),
        ("analysis_pandemic_followups", pandemic),
    ]


VIEW_NAMES = [name for name, _ in _views("sqlite")]


def create_views(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    connection = schema_editor.connection
    # A cursor without parameters: strftime's '%Y' must reach SQLite as written.
    with connection.cursor() as cursor:
        for name, sql in _views(connection.vendor):
            cursor.execute(f"DROP VIEW IF EXISTS {name}")
            cursor.execute(f"CREATE VIEW {name} AS {sql}")


def drop_views(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    with schema_editor.connection.cursor() as cursor:
        for name in VIEW_NAMES:
            cursor.execute(f"DROP VIEW IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_followup_continuation_patient_deviation_requests_clearances"),
    ]

    operations = [migrations.RunPython(create_views, drop_views, elidable=False)]
