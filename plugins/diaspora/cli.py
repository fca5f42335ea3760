"""``diaspora`` command: schema, DAG runs without a scheduler, and reports.

diaspora db upgrade          create or migrate the warehouse schema
diaspora run-dags [DAG ...]  run DAGs once in-process (dag.test), sources before reporting
diaspora report              print the latest remittances per country
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diaspora.settings import PROJECT_ROOT, get_settings


def _db_upgrade(_: argparse.Namespace) -> int:
    from diaspora.pipeline import prepare_warehouse
    from diaspora.warehouse.engine import safe_url

    settings = get_settings()
    applied = prepare_warehouse(settings)
    print(f"Warehouse {safe_url(settings.warehouse_url)} is up to date; applied now: {applied or 'nothing'}")
    return 0


def _docs(args: argparse.Namespace) -> int:
    from diaspora.warehouse.catalog import data_dictionary

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(data_dictionary())
    print(f"wrote {args.output}")
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
    from diaspora.reporting import (
        format_profiles,
        format_remittances,
        format_survey_estimates,
        latest_profiles,
        latest_remittances,
        survey_estimates,
    )

    settings = get_settings()
    print(format_remittances(latest_remittances(settings, years=args.years)))
    print()
    print(format_profiles(latest_profiles(settings)))
    print()
    print(format_survey_estimates(survey_estimates(settings)))
    factsheets = sorted((settings.data_dir / "factsheets").glob("*/factsheet.html"))
    if factsheets:
        print("\nFactsheets (HTML, with JSON and CSV beside them):")
        print("\n".join(f"  {path}" for path in factsheets))
    return 0


def _dag_order(dags: dict) -> list[str]:
    """Clock-scheduled (source) DAGs first, then those scheduled on their Assets."""

    def is_asset_scheduled(dag) -> bool:  # noqa: ANN001
        return type(dag.timetable).__name__ == "AssetTriggeredTimetable"

    return sorted(dags, key=lambda dag_id: (is_asset_scheduled(dags[dag_id]), dag_id))


def _run_dags(args: argparse.Namespace) -> int:
    from airflow.dag_processing.dagbag import DagBag

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
    for dag_id in wanted:
        print(f"==> running DAG {dag_id}", flush=True)
        dag_run = bag.dags[dag_id].test()
        states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
        print(f"<== {dag_id}: {dag_run.state} {states}", flush=True)
        if str(dag_run.state) != "success":
            failed.append(dag_id)
    if failed:
        print(f"DAG run(s) failed: {failed}; see the task logs above.", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="diaspora", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="warehouse schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="create or migrate the schema").set_defaults(func=_db_upgrade)

    run = commands.add_parser("run-dags", help="run DAGs once in-process with dag.test()")
    run.add_argument("dag_ids", nargs="*", help="DAG ids (default: every DAG, sources first)")
    run.add_argument("--dags-folder", type=Path, default=PROJECT_ROOT / "dags")
    run.set_defaults(func=_run_dags)

    docs = commands.add_parser("docs", help="write the data dictionary of the reporting views")
    docs.add_argument("--output", type=Path, default=PROJECT_ROOT / "docs" / "data_dictionary.md")
    docs.set_defaults(func=_docs)

    surveys = commands.add_parser("survey-suites", help="write the GX suite of every survey definition")
    surveys.set_defaults(func=_survey_suites)

    report = commands.add_parser("report", help="print the latest remittances per country")
    report.add_argument("--years", type=int, default=3, help="latest years per country")
    report.set_defaults(func=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
