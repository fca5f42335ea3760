"""``diaspora`` command: deploy steps, DAG runs without a scheduler, and reports.

diaspora migrate             create or migrate the warehouse schema and sync reference data
                             (once per deploy; `diaspora db upgrade` is the same)
diaspora pool                create or resize the Airflow pool of warehouse tasks
diaspora check-secrets       refuse placeholder or too-short deploy secrets (the environment's), naming each
diaspora secrets             print a .env with every secret freshly generated (from .env.example)
diaspora run-dags [DAG ...]  run DAGs once in-process (dag.test), sources before reporting
diaspora status [--json]     how things stand; exits 1 when something needs a person
diaspora report              print the latest remittances per country
diaspora validation-report   every validation result on one offline page (<data_dir>/validation/)
diaspora factsheet --all     factsheets (HTML, PDF, JSON, CSV) of every country with data, and an index
diaspora diff SOURCE [OLD] [NEW]   what a release changed: values added, removed, revised
diaspora backfill SOURCE RELEASE   load a stored release again, without the network
diaspora accept SOURCE [RELEASE]   load the release the revision policy held back, after review
diaspora new-source NAME     a new source folder with a small working source (--dry-run: list it)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diaspora.settings import PROJECT_ROOT, get_settings


def readable_warehouse(url: str):  # noqa: ANN201 - a SQLAlchemy engine
    """The warehouse, if it exists and is migrated (imported late: other commands need no SQLAlchemy)."""
    from diaspora.warehouse.schema import readable_warehouse as readable

    return readable(url)


def _migrate(args: argparse.Namespace) -> int:
    from diaspora.pipeline import prepare_warehouse
    from diaspora.warehouse.engine import safe_url

    settings = get_settings()
    applied = prepare_warehouse(settings)
    print(
        f"Warehouse {safe_url(settings.warehouse_url)} is up to date (migrations applied now: "
        f"{', '.join(applied) or 'none'}; reference data synced)"
    )
    # Without its pool every warehouse task waits in 'scheduled' forever: the deploy step that every
    # deploy runs makes sure it exists (where Airflow's metadata database is reachable).
    try:
        _pool(args)
    except Exception as exc:  # noqa: BLE001 - no Airflow here: say so, the warehouse is done
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        print(
            f"NOT DONE: the Airflow pool {settings.warehouse_pool} (Airflow's metadata database: {reason}). "
            "Run `diaspora pool` where Airflow runs, or every warehouse task waits forever.",
            file=sys.stderr,
        )
    return 0


def _status(args: argparse.Namespace) -> int:
    from diaspora.status import collect, format_status

    status = collect(get_settings())
    print(status.as_json() if args.json else format_status(status))
    return status.exit_code(strict=args.strict)


def _check_secrets(_: argparse.Namespace) -> int:
    import os

    from diaspora.deploy import secret_problems

    problems = secret_problems(os.environ)
    for problem in problems:
        print(f"refused: {problem}", file=sys.stderr)
    if problems:
        print("Generate every secret with `diaspora secrets > .env` (or `make secrets`).", file=sys.stderr)
        return 2
    print("Deploy secrets: none missing, none a placeholder, none too short")
    return 0


def _secrets(args: argparse.Namespace) -> int:
    from diaspora.deploy import env_with_secrets

    sys.stdout.write(env_with_secrets(args.template.read_text()))
    return 0


def _pool(_: argparse.Namespace) -> int:
    """The Airflow pool every warehouse task runs in, sized for the warehouse's engine."""
    from airflow.models.pool import Pool

    settings = get_settings()
    slots = settings.pool_slots
    engine = "DuckDB: one process at a time" if settings.warehouse_is_duckdb else "PostgreSQL"
    Pool.create_or_update_pool(
        name=settings.warehouse_pool,
        slots=slots,
        description=f"Tasks that open the diaspora warehouse ({engine})",
        include_deferred=False,
    )
    print(f"Airflow pool {settings.warehouse_pool}: {slots} slot(s) ({engine})")
    return 0


def _docs(args: argparse.Namespace) -> int:
    from diaspora.warehouse.bi_catalog import data_dictionary

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(data_dictionary())
    print(f"wrote {args.output}")
    return 0


def _validation_report(_: argparse.Namespace) -> int:
    from diaspora.validation_report import write_validation_report

    path = write_validation_report(get_settings())
    print(f"Validation report: {path}")
    return 0


def _survey_suites(args: argparse.Namespace) -> int:
    import json

    from diaspora.surveys.checks import suite_for
    from diaspora.surveys.definitions import load_definitions

    settings = get_settings()
    for definition in load_definitions(settings.survey_definitions_dir):
        path = settings.expectations_dir / f"survey_{definition.survey_id}.json"
        path.write_text(json.dumps(suite_for(definition), indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {path.name}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from diaspora.text_report import (
        format_profiles,
        format_remittances,
        format_survey_estimates,
        latest_profiles,
        latest_remittances,
        survey_estimates,
    )
    from diaspora.warehouse.published import readable_reporting

    settings = get_settings()
    readable_reporting(settings)
    print(format_remittances(latest_remittances(settings, years=args.years)))
    print()
    print(format_profiles(latest_profiles(settings)))
    print()
    print(format_survey_estimates(survey_estimates(settings)))
    folder = settings.data_dir / "factsheets"
    factsheets = sorted(folder.glob("*/factsheet.html"))
    if factsheets:
        print("\nFactsheets (HTML, with their PDF, JSON and CSV beside them):")
        print("\n".join(f"  {path}" for path in factsheets))
        if (folder / "index.html").exists():
            print(f"  index: {folder / 'index.html'}")
    return 0


def _factsheet(args: argparse.Namespace) -> int:
    from diaspora.errors import UsageError
    from diaspora.factsheet import render_countries
    from diaspora.sources import get_source

    settings = get_settings()
    if not args.all and not args.countries:
        raise UsageError("name ISO3 codes (`diaspora factsheet TJK KGZ`) or --all")
    pins = {}
    for pin in args.release or []:
        source, separator, release = pin.partition("=")
        if not separator or not release:
            raise UsageError(f"--release {pin!r}: expected SOURCE=RELEASE, e.g. unhcr_refugees=3")
        pins[get_source(source).key] = release
    from diaspora.warehouse.published import readable_reporting

    engine = readable_warehouse(settings.warehouse_url) if pins else readable_reporting(settings)
    countries = None if args.all else _known_countries(engine, [c.upper() for c in args.countries])
    result = render_countries(
        settings, countries, workers=args.workers, pdf=not args.no_pdf, pins=pins, progress=True
    )
    print(
        f"{result['countries']} factsheets and {result['pdfs']} PDFs in {result['seconds']:.1f} s "
        f"(read {result['read_s']:.1f} s, pages {result['pages_s']:.1f} s, PDFs {result['pdf_s']:.1f} s); "
        f"index: {result['index']}"
    )
    if result["pdf_problem"]:
        print(result["pdf_problem"], file=sys.stderr)
    return 0


def _known_countries(engine, codes: list[str]) -> list[str]:  # noqa: ANN001 - a SQLAlchemy engine
    """``codes`` if the warehouse knows each of them, else a UsageError naming those it does not."""
    import sqlalchemy as sa

    from diaspora.errors import UsageError

    statement = sa.text("SELECT country_code FROM reporting.areas WHERE country_code IN :codes")
    with engine.connect() as conn:
        known = {
            row[0]
            for row in conn.execute(
                statement.bindparams(sa.bindparam("codes", expanding=True)), {"codes": codes}
            )
        }
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise UsageError(
            f"unknown country code(s) {', '.join(unknown)}: use ISO 3166 alpha-3 codes such as TJK "
            "(`reporting.areas` lists every code the warehouse knows)"
        )
    return codes


def _diff(args: argparse.Namespace) -> int:
    from diaspora.pipeline import compare_releases
    from diaspora.revisions import format_diff
    from diaspora.sources import get_source

    get_source(args.source)  # an unknown source before anything opens the warehouse
    readable_warehouse(get_settings().warehouse_url)

    compared = compare_releases(args.source, args.old, args.new)
    print(format_diff(compared.diff, compared.old_name, compared.new_name, compared.verdict, top=args.top))
    if args.csv:
        rows = compared.diff.value_rows()
        rows["change"] = rows["new_value"] - rows["old_value"]
        rows.to_csv(args.csv, index=False)
        print(f"\n{len(rows):,} changed values written to {args.csv}")
    return 0


def _backfill(args: argparse.Namespace) -> int:
    from diaspora.pipeline import backfill, prepare_warehouse, stored_landing
    from diaspora.progress import Progress
    from diaspora.sources import get_source

    get_source(args.source)  # mistakes first, before any progress line
    prepare_warehouse()
    landing = stored_landing(args.source, args.release)
    progress = Progress(f"backfill {args.source}", 3)
    result = backfill(args.source, landing, reload=args.reload, accept=args.accept, progress=progress)
    progress.finish()
    return _print_loaded(result)


def _accept(args: argparse.Namespace) -> int:
    from diaspora.pipeline import accept, prepare_warehouse

    prepare_warehouse()
    return _print_loaded(accept(args.source, args.release))


def _print_loaded(result: dict) -> int:
    if result["skipped"]:
        print(f"{result['landing_dir']} is loaded already; nothing to do (--reload loads it again)")
        return 0
    print(result["validate"]["message"])
    print(result["load"]["message"])
    return 0


def _new_source(args: argparse.Namespace) -> int:
    from diaspora.sources.scaffold import new_source

    files = new_source(args.name, dry_run=args.dry_run)
    verb = "would write" if args.dry_run else "wrote"
    print(f"{verb} {len(files)} files:")
    print("\n".join(f"  {path.relative_to(PROJECT_ROOT)}" for path in files))
    if not args.dry_run:
        print(
            f"\n{args.name} is registered: its DAG, Asset and contract test exist now. Replace its fetch "
            f"(extract.py), parse (parse.py), suite (suite.json) and sample with the real source's, then run "
            f"`make test-fast`."
        )
    return 0


def _dag_order(dags: dict) -> list[str]:
    """Clock-scheduled (source) DAGs first, then those scheduled on their Assets."""

    def is_asset_scheduled(dag) -> bool:  # noqa: ANN001
        return type(dag.timetable).__name__ == "AssetTriggeredTimetable"

    return sorted(dags, key=lambda dag_id: (is_asset_scheduled(dags[dag_id]), dag_id))


def _seconds(ti) -> str:  # noqa: ANN001 - an Airflow TaskInstance
    if ti.start_date and ti.end_date:
        return f"{(ti.end_date - ti.start_date).total_seconds():6.1f} s"
    return "       "


def _progress(dag_run, alerts: list) -> list[str]:  # noqa: ANN001 - an Airflow DagRun
    """One line for the run, one per task (in the order they ran), one per alert it sent."""
    instances = sorted(dag_run.get_task_instances(), key=lambda ti: (ti.start_date is None, ti.start_date))
    took = (dag_run.end_date - dag_run.start_date).total_seconds() if dag_run.end_date else 0.0
    lines = [f"{dag_run.dag_id:<24} {str(dag_run.state):<10} {took:6.1f} s"]
    for ti in instances:
        index = f"[{ti.map_index}]" if ti.map_index >= 0 else ""
        lines.append(f"  {ti.task_id + index:<22} {str(ti.state):<10} {_seconds(ti)}")
    lines += [f"  alert sent ({alert.severity}): {alert.title}" for alert in alerts]
    return lines


def _quiet_airflow() -> None:
    """Task logs only when something fails (error level); no deprecation notices from libraries."""
    import os
    import warnings

    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    warnings.simplefilter("ignore", DeprecationWarning)


def _run_dags(args: argparse.Namespace) -> int:
    from diaspora.progress import Progress

    _quiet_airflow()
    from airflow.dag_processing.dagbag import DagBag

    from diaspora import alerts

    bag = DagBag(dag_folder=str(args.dags_folder))
    if bag.import_errors:
        for path, error in bag.import_errors.items():
            print(f"DAG file {path} failed to import:\n{error}", file=sys.stderr)
        return 1
    wanted = args.dag_ids or _dag_order(bag.dags)
    unknown = [d for d in wanted if d not in bag.dags]
    if unknown:
        print(f"Unknown DAG id(s) {unknown}; known: {sorted(bag.dags)}", file=sys.stderr)
        return 2
    failed = []
    progress = Progress("run-dags", len(wanted))
    for dag_id in wanted:
        sent = len(alerts.SENT)
        progress.start(dag_id)
        dag_run = bag.dags[dag_id].test()
        progress.done(announce=False)  # its own lines follow
        print("\n".join(_progress(dag_run, alerts.SENT[sent:])), flush=True)
        if str(dag_run.state) != "success":
            failed.append(dag_id)
    progress.finish()
    if failed:
        print(f"DAG run(s) failed: {failed}; their task logs are above.", file=sys.stderr)
        return 1
    return 0


class _Parser(argparse.ArgumentParser):
    """A malformed command line gets one line saying what is wrong and where the help is."""

    def error(self, message: str) -> None:  # argparse's hook; never returns
        print(f"{self.prog}: {message} (`{self.prog} --help` lists the arguments)", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="diaspora", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser(
        "migrate", help="migrate the warehouse and sync reference data (once per deploy)"
    ).set_defaults(func=_migrate)
    db = commands.add_parser("db", help="warehouse schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="the same as `diaspora migrate`").set_defaults(func=_migrate)
    commands.add_parser("pool", help="create or resize the Airflow pool of warehouse tasks").set_defaults(
        func=_pool
    )

    commands.add_parser(
        "check-secrets", help="refuse placeholder or too-short deploy secrets, naming each (exit 2)"
    ).set_defaults(func=_check_secrets)
    generate = commands.add_parser("secrets", help="print a .env with every secret freshly generated")
    generate.add_argument("--template", type=Path, default=PROJECT_ROOT / ".env.example")
    generate.set_defaults(func=_secrets)

    run = commands.add_parser("run-dags", help="run DAGs once in-process with dag.test()")
    run.add_argument("dag_ids", nargs="*", help="DAG ids (default: every DAG, sources first)")
    run.add_argument("--dags-folder", type=Path, default=PROJECT_ROOT / "dags")
    run.set_defaults(func=_run_dags)

    docs = commands.add_parser("docs", help="write the data dictionary of the reporting views")
    docs.add_argument("--output", type=Path, default=PROJECT_ROOT / "docs" / "data_dictionary.md")
    docs.set_defaults(func=_docs)

    commands.add_parser(
        "validation-report",
        help="write the validation report (every result, offline) to <data_dir>/validation/",
    ).set_defaults(func=_validation_report)

    surveys = commands.add_parser("survey-suites", help="write the GX suite of every survey definition")
    surveys.set_defaults(func=_survey_suites)

    factsheet = commands.add_parser(
        "factsheet", help="render factsheets (HTML, PDF, JSON, CSV) and their index from the reporting views"
    )
    factsheet.add_argument("countries", nargs="*", help="ISO3 codes")
    factsheet.add_argument("--all", action="store_true", help="every country with data")
    factsheet.add_argument("--workers", type=int, help="processes drawing pages (default: one per CPU)")
    factsheet.add_argument("--no-pdf", action="store_true", help="HTML, JSON and CSV only")
    factsheet.add_argument(
        "--release",
        action="append",
        metavar="SOURCE=RELEASE",
        help="figures as this release published them (id or label; repeat per source), not the latest",
    )
    factsheet.set_defaults(func=_factsheet)

    diff = commands.add_parser(
        "diff", help="what a release changed against another: values added, removed and revised"
    )
    diff.add_argument("source", help="source key (the DAG id), e.g. unhcr_refugees")
    diff.add_argument(
        "old", nargs="?", help="older release: release_id or label (default: the one before NEW)"
    )
    diff.add_argument(
        "new", nargs="?", help="newer release: release_id, label or a landing folder (default: the latest)"
    )
    diff.add_argument("--top", type=int, default=10, help="largest revisions listed (default 10)")
    diff.add_argument("--csv", type=Path, help="write every changed value to this CSV file")
    diff.set_defaults(func=_diff)

    refill = commands.add_parser(
        "backfill", help="parse, validate and load a stored release again, without the network"
    )
    refill.add_argument("source", help="source key (the DAG id)")
    refill.add_argument("release", help="release label, release_id or landing folder")
    refill.add_argument("--reload", action="store_true", help="load it even if it is loaded already")
    refill.add_argument(
        "--accept",
        "--accept-removals",
        dest="accept",
        action="store_true",
        help="load it although the revision policy holds it back (after review with `diaspora diff`)",
    )
    refill.set_defaults(func=_backfill)

    accepting = commands.add_parser(
        "accept", help="load the release the revision policy held back (new edition or quarantine)"
    )
    accepting.add_argument("source", help="source key (the DAG id)")
    accepting.add_argument(
        "release", nargs="?", help="release label or landing folder (default: the one held back last)"
    )
    accepting.set_defaults(func=_accept)

    scaffold = commands.add_parser(
        "new-source", help="write a new source folder that passes the contract test"
    )
    scaffold.add_argument(
        "name", help="source key, <publisher>_<dataset> in lower case (e.g. ilo_migrant_workers)"
    )
    scaffold.add_argument("--dry-run", action="store_true", help="list the files without writing them")
    scaffold.set_defaults(func=_new_source)

    status = commands.add_parser(
        "status", help="how things stand: sources, held releases, surveys, warehouse, Airflow (exit 1: act)"
    )
    status.add_argument("--json", action="store_true", help="the same as JSON")
    status.add_argument("--strict", action="store_true", help="exit 1 on warnings too (stale, to review)")
    status.set_defaults(func=_status)

    report = commands.add_parser("report", help="print the latest remittances per country")
    report.add_argument("--years", type=int, default=3, help="latest years per country")
    report.set_defaults(func=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. A user's mistake (:class:`UsageError`: an unknown source, country or release,
    nothing to compare, a warehouse missing or not migrated) prints one line and exits 2; another
    error prints one message and exits 1; ``--debug`` shows the traceback instead. Run as the
    ``diaspora`` command (``argv`` None), it then leaves without the interpreter's teardown: no leak
    noise at exit. Called with ``argv`` (tests), it returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except (Exception, KeyboardInterrupt) as exc:
        if args.debug:
            raise
        code = _report_error(args.command, exc)
    if argv is None:
        _exit_without_teardown(code)
    return code


def _report_error(command: str, exc: BaseException) -> int:
    from diaspora.errors import DiasporaError, UsageError

    if isinstance(exc, BrokenPipeError):  # `diaspora status --json | head`: the reader had enough
        return 0
    if isinstance(exc, KeyboardInterrupt):
        print(f"diaspora {command}: interrupted", file=sys.stderr)
        return 130
    if isinstance(exc, UsageError):
        print(f"diaspora {command}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    if isinstance(exc, DiasporaError):
        print(f"diaspora {command}: {exc}", file=sys.stderr)
        return 1
    first = (str(exc).strip().splitlines() or [""])[0]
    hint = "run again with --debug for the traceback"
    print(f"diaspora {command}: unexpected {type(exc).__name__}: {first} ({hint})", file=sys.stderr)
    return 1


def _exit_without_teardown(code: int) -> None:
    """Leave once everything is written and the warehouse connections are closed, skipping the
    interpreter's teardown: with Great Expectations and DuckDB loaded together, DuckDB's bindings
    print dozens of 'nanobind: leaked …' lines at teardown, burying the output (nothing leaks:
    the process is ending)."""
    import os

    from diaspora.warehouse.engine import dispose_all

    dispose_all()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader of a pipe left
            pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
