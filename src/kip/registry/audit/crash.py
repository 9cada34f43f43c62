"""Crash safety: writers killed with SIGKILL at random moments lose no acknowledged commit.

Run as `python -m kip.registry.audit.crash --database-url URL --kills N`. The parent migrates the
database, makes one infusion to write against, then per round forks writer processes and kills
them with SIGKILL after a random delay. A writer records vital signs (and now and then corrects
one, with a reason), each in its own audit_context transaction, and reports each id on a pipe
only after the commit returned. After every kill the parent reopens the database and checks:

- SQLite: PRAGMA integrity_check is "ok";
- every acknowledged create is present (and, at the end, every acknowledged correction holds its
  value and has its update entry);
- no vital-signs row lacks its create entry in the audit trail, and no create entry lacks its row;
- the audit chain verifies (every `--verify-every` kills and at the end).

Writers are forked from the prepared parent rather than started afresh, so a round costs a few
milliseconds instead of a Python and Django start-up; each is still its own process, with its own
database connection (the parent holds none when it forks), killed without any chance to clean up.

Exit 0 when every check held, 1 otherwise. `--json` prints the report (with the acknowledged ids,
for callers that check them independently) instead of a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import NoReturn

SOURCE = "crash-test"
MAX_FAILURES = 10


@dataclass
class Report:
    vendor: str = ""
    kills: int = 0
    writers: int = 1
    rows: int = 0
    audit_entries: int = 0
    chain_verifications: int = 0
    seconds: float = 0.0
    created: list[int] = field(default_factory=list)  # acknowledged creates
    corrected: dict[int, int] = field(default_factory=dict)  # acknowledged id -> spo2
    failures: list[str] = field(default_factory=list)


def _setup_django(database_url: str) -> None:
    os.environ["KIP_DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kip.site.settings")
    import django

    django.setup()


def prepare() -> tuple[int, int]:
    """Migrate and make (or find) the user and infusion the writers use: (user id, infusion id)."""
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from kip.registry.audit.context import audit_context
    from kip.registry.models import Enrolment, Infusion, Patient, Site

    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="crash-writer")
    with audit_context(user, reason="crash test set-up", source=SOURCE):
        site, _ = Site.objects.get_or_create(code="crash", defaults={"name": "Crash test"})
        patient, _ = Patient.objects.get_or_create(
            site=site,
            mrn="CRASH-1",
            defaults={
                "given_name": "Crash",
                "family_name": "Test",
                "date_of_birth": date(1960, 1, 1),
                "sex": "male",
                "primary_cancer": "lung",
                "etiology": "cipn",
            },
        )
        enrolment, _ = Enrolment.objects.get_or_create(
            patient=patient,
            defaults={
                "protocol_id": "mskcc-2021",
                "protocol_version": "1.0.0",
                "started_on": date(2020, 1, 6),
            },
        )
        infusion, _ = Infusion.objects.get_or_create(
            patient=patient,
            number=1,
            defaults={
                "enrolment": enrolment,
                "phase": "first",
                "protocol_id": "mskcc-2021",
                "protocol_version": "1.0.0",
                "planned_on": date(2020, 1, 6),
            },
        )
    return user.pk, infusion.pk


def write_forever(out: int, user_id: int, infusion_id: int, seed: int) -> NoReturn:
    """The writer: commit, then acknowledge on `out`; never returns (it is killed)."""
    try:
        from django.contrib.auth.models import User

        from kip.registry.audit.context import audit_context
        from kip.registry.models import Infusion, VitalSigns

        rng = random.Random(seed)
        user = User.objects.get(pk=user_id)
        infusion = Infusion.objects.select_related("patient").get(pk=infusion_id)
        os.write(out, b"ready\n")  # connected: the kill clock starts now
        last: VitalSigns | None = None
        while True:
            if last is not None and rng.random() < 0.25:
                # Each row is corrected at most once, so an acknowledged value is its final one.
                spo2 = 100  # readings are 90..99, so this always changes the row
                with audit_context(user, reason="corrected reading", source=SOURCE):
                    last.spo2_pct = spo2
                    last.save()
                os.write(out, f"u {last.pk} {spo2}\n".encode())
                last = None
                continue
            with audit_context(user, source=SOURCE):
                last = VitalSigns.objects.create(
                    infusion=infusion,
                    minute=Decimal(rng.randint(0, 2400)) / 10,
                    heart_rate_bpm=rng.randint(50, 120),
                    systolic_mmhg=rng.randint(95, 170),
                    diastolic_mmhg=rng.randint(55, 100),
                    spo2_pct=rng.randint(90, 99),
                    recorded_by=user,
                )
            os.write(out, f"c {last.pk}\n".encode())
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(3)


def _wait_ready(fd: int, received: bytearray, timeout: float = 30.0) -> bool:
    """Wait for the writer's first line: a loaded machine must not turn every kill into a kill
    during start-up, before any transaction began."""
    deadline = time.monotonic() + timeout
    while b"\n" not in received:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return False
        chunk = os.read(fd, 65536)
        if not chunk:
            return False
        received += chunk
    return True


def _read_acks(fd: int, received: bytearray, report: Report) -> None:
    while chunk := os.read(fd, 65536):
        received += chunk
    os.close(fd)
    # The last piece is "" or a line the kill cut off: not acknowledged, so not counted.
    for line in received.decode().split("\n")[:-1]:
        parts = line.split()
        if len(parts) == 2 and parts[0] == "c":
            report.created.append(int(parts[1]))
        elif len(parts) == 3 and parts[0] == "u":
            report.corrected[int(parts[1])] = int(parts[2])


def check(report: Report, *, new_creates: Sequence[int], full_chain: bool) -> None:
    """Reopen the database and check it as a recovering server would find it."""
    from django.db import connection, transaction

    connection.close()
    # One snapshot for every query below: a killed writer's server process may still finish a
    # COMMIT it had sent, and one landing between two queries would look like a lost row.
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        _check(report, new_creates=new_creates, full_chain=full_chain)


def _check(report: Report, *, new_creates: Sequence[int], full_chain: bool) -> None:
    from django.db import connection

    from kip.registry.audit.chain import verify
    from kip.registry.audit.models import AuditEntry
    from kip.registry.models import VitalSigns

    fail = report.failures.append
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA integrity_check")
            result = [row[0] for row in cursor.fetchall()]
        if result != ["ok"]:
            fail(f"after kill {report.kills}: integrity_check: {result[:5]}")
    present = set(VitalSigns.objects.filter(pk__in=new_creates).values_list("pk", flat=True))
    if lost := sorted(set(new_creates) - present):
        fail(f"after kill {report.kills}: acknowledged rows lost: {lost[:10]}")
    rows = {str(pk) for pk in VitalSigns.objects.values_list("pk", flat=True)}
    audited = set(
        AuditEntry.objects.filter(model="registry.vitalsigns", action="create").values_list(
            "object_id", flat=True
        )
    )
    if unaudited := sorted(rows - audited, key=int):
        fail(f"after kill {report.kills}: rows without their audit entry: {unaudited[:10]}")
    if orphans := sorted(audited - rows, key=int):
        fail(f"after kill {report.kills}: audit entries without their row: {orphans[:10]}")
    report.rows = len(rows)
    report.audit_entries = AuditEntry.objects.count()
    if full_chain:
        report.chain_verifications += 1
        chain = verify()
        if chain.broken:
            fail(f"after kill {report.kills}: audit chain broken at {chain.broken}")


def check_corrections(report: Report) -> None:
    from kip.registry.audit.models import AuditEntry
    from kip.registry.models import VitalSigns

    held = dict(VitalSigns.objects.filter(pk__in=report.corrected).values_list("pk", "spo2_pct"))
    if wrong := {pk: v for pk, v in report.corrected.items() if held.get(pk) != v}:
        report.failures.append(f"acknowledged corrections lost: {sorted(wrong)[:10]}")
    logged = set(
        AuditEntry.objects.filter(
            model="registry.vitalsigns", action="update", object_id__in=map(str, report.corrected)
        ).values_list("object_id", flat=True)
    )
    if missing := sorted(set(report.corrected) - {int(pk) for pk in logged}):
        report.failures.append(f"acknowledged corrections without audit entry: {missing[:10]}")


def run(
    *,
    kills: int,
    seed: int,
    writers: int = 1,
    max_delay: float = 0.025,
    verify_every: int = 25,
) -> Report:
    from django.db import connection, connections

    rng = random.Random(seed)
    user_id, infusion_id = prepare()
    report = Report(vendor=connection.vendor, writers=writers)
    started = time.monotonic()
    while report.kills < kills and len(report.failures) < MAX_FAILURES:
        connections.close_all()  # a forked writer must not share the parent's connection
        children: list[tuple[int, int, bytearray]] = []
        for _ in range(writers):
            read_end, write_end = os.pipe()
            child_seed = rng.getrandbits(32)
            pid = os.fork()
            if pid == 0:
                os.close(read_end)
                write_forever(write_end, user_id, infusion_id, child_seed)
            os.close(write_end)
            children.append((pid, read_end, bytearray()))
        for pid, read_end, received in children:
            if not _wait_ready(read_end, received):
                report.failures.append(f"writer {pid} never reported ready")
        time.sleep(rng.uniform(0, max_delay))
        before = len(report.created)
        for pid, read_end, received in children:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            report.kills += 1
            if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                report.failures.append(f"writer {pid} ended on its own (status {status})")
            _read_acks(read_end, received, report)
        last_round = report.kills >= kills
        check(
            report,
            new_creates=report.created[before:],
            full_chain=last_round or report.kills % verify_every < writers,
        )
    check_corrections(report)
    report.seconds = round(time.monotonic() - started, 2)
    return report


def summary(report: Report) -> str:
    lines = [
        f"{report.vendor}: {report.kills} SIGKILLs of {report.writers} writer(s) in "
        f"{report.seconds} s",
        f"  acknowledged: {len(report.created)} creates, {len(report.corrected)} corrections",
        f"  in the database: {report.rows} rows, {report.audit_entries} audit entries; "
        f"chain verified {report.chain_verifications} times",
    ]
    lines += [f"  FAILED: {f}" for f in report.failures] or ["  every check held"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kip.registry.audit.crash")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--writers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-delay-ms", type=float, default=25.0)
    parser.add_argument("--verify-every", type=int, default=25)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    _setup_django(args.database_url)
    report = run(
        kills=args.kills,
        seed=seed,
        writers=args.writers,
        max_delay=args.max_delay_ms / 1000,
        verify_every=args.verify_every,
    )
    if args.json:
        print(json.dumps(asdict(report) | {"seed": seed}))
    else:
        print(summary(report) + f"\n  seed: {seed}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
