"""The reference pages of the documentation site, generated from the code and the configuration.

Five pages, written at build time so that they cannot drift from what they describe:

- ``reference/commands.md``: the targets ``make help`` lists and every ``diaspora`` command with
  its arguments, from :func:`diaspora.cli.build_parser`;
- ``reference/configuration.md``: every field of :class:`diaspora.settings.Settings` as its
  ``DIASPORA_<FIELD>`` variable (type, default, description), the variables read straight from the
  environment (the DAG files keep their parse cheap) and those of ``docker-compose.yml``;
- ``reference/dags.md``: every source of :func:`diaspora.sources.registry` (its key is the DAG id)
  with its contract and health settings, and the DAGs of ``dags/survey_files.py`` and
  ``dags/diaspora_reporting.py``, read from their source text (no Airflow import);
- ``reference/data-dictionary.md``: :func:`diaspora.warehouse.bi_catalog.data_dictionary`, the
  ``reporting`` views from ``sql/reporting_docs.yml``;
- ``reference/indicators.md``: the World Bank indicators of ``config/worldbank_indicators.yml``.

MkDocs loads this file as a hook (``hooks:`` in ``mkdocs.yml``): :func:`on_files` adds the pages to
every build and ``mkdocs serve``, as generated files that exist in the built site only, so there is
nothing in the tree to edit by hand. :func:`write_reference_pages` writes the same pages into a
folder (``python -m diaspora.docs_site FOLDER``), to read them without building the site.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

from diaspora.settings import PROJECT_ROOT, Settings

DAGS_DIR = PROJECT_ROOT / "dags"
PACKAGE_DIR = PROJECT_ROOT / "plugins" / "diaspora"
ORCHESTRATION_FILE = PACKAGE_DIR / "orchestration.py"
ASSETS_FILE = PACKAGE_DIR / "assets.py"
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
# What the code's one-line descriptions leave out, kept beside the docs (never beside the code).
CONFIGURATION_NOTES = PROJECT_ROOT / "docs" / "reference" / "configuration_notes.yml"
# The DAG files that are not built from the source registry.
OTHER_DAG_FILES = ("survey_files.py", "diaspora_reporting.py")
# Airflow's schedule presets, as cron, to describe them in words.
PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}
GENERATED = "Generated at build time by `diaspora.docs_site` from {what}; do not edit by hand."


# --- Markdown helpers -----------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def _escape(text: str) -> str:
    """Text for Markdown: ``<`` outside code spans is written as an entity (``M49:<code>`` would
    otherwise open an HTML element), and a ``|`` outside them cannot end a table cell."""
    parts, last = [], 0
    for match in _CODE_SPAN.finditer(text):
        parts.append(text[last : match.start()].replace("<", "&lt;").replace("|", "\\|"))
        parts.append(match.group(0))
        last = match.end()
    parts.append(text[last:].replace("<", "&lt;").replace("|", "\\|"))
    return "".join(parts)


def _from_docstring(text: str) -> str:
    """A reST docstring as Markdown: ``code`` and :role:`target` become code spans."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _cell(text: str) -> str:
    return _escape(" ".join(str(text).split()))


def _code(value: object) -> str:
    text = str(value)
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _relative(path: Path) -> str:
    """A path of the project as the repository names it (never this machine's)."""
    try:
        return Path(path).resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


# --- configuration --------------------------------------------------------------------------------


def _type_name(annotation: object) -> str:
    names = {str: "text", int: "integer", float: "number", bool: "true/false", Path: "path"}
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [_type_name(a) for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(kinds) + (", optional" if type(None) in typing.get_args(annotation) else "")
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _constraints(metadata: list) -> list[str]:
    found = []
    for item in metadata:
        for attribute, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            if getattr(item, attribute, None) is not None:
                found.append(f"{sign} {getattr(item, attribute)}")
        if getattr(item, "pattern", None):
            found.append(f"matches {_code(item.pattern)}")
    return found


def _default(value: object) -> str:
    if value is None or value == "":
        return "unset"
    if isinstance(value, bool):
        return _code(str(value).lower())
    if isinstance(value, Path):
        return _code(_relative(value))
    if isinstance(value, float):
        return _code(f"{value:g}")
    if isinstance(value, int):
        for unit, size in (("GiB", 1024**3), ("MiB", 1024**2)):
            if value >= size and value % size == 0:
                return f"{_code(value)} ({value // size} {unit})"
    return _code(value)


def configuration_notes() -> dict[str, str]:
    """The notes beside the code's descriptions, by variable; a note for a variable that is no
    longer read is an error, so a note cannot outlive its setting."""
    notes = yaml.safe_load(CONFIGURATION_NOTES.read_text()) or {}
    known = {f"DIASPORA_{name.upper()}" for name in Settings.model_fields} | set(environment_variables())
    stale = sorted(set(notes) - known)
    if stale:
        raise ValueError(f"{_relative(CONFIGURATION_NOTES)}: notes for variables nothing reads: {stale}")
    return {name: " ".join(str(text).split()) for name, text in notes.items()}


def environment_variables() -> dict[str, tuple[str, str]]:
    """``DIASPORA_*`` variables the package reads from the environment itself, outside the
    settings object (``os.environ.get`` of a literal ``DIASPORA_*`` name): name → (default, file)."""
    fields = {f"DIASPORA_{name.upper()}" for name in Settings.model_fields}
    found: dict[str, tuple[str, str]] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not (isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.environ.get", "os.getenv")):
                continue
            name = node.args[0] if node.args else None
            if not (isinstance(name, ast.Constant) and str(name.value).startswith("DIASPORA_")):
                continue
            if name.value in fields:
                continue
            default = (
                node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else None
            )
            found.setdefault(name.value, (default, _relative(path)))
    return found


def compose_variables() -> dict[str, str]:
    """Variables ``docker-compose.yml`` substitutes, with their default or what it says when unset."""
    found: dict[str, str] = {}
    for match in re.finditer(r"\$\{([A-Z][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}", COMPOSE_FILE.read_text()):
        name, kind, text = match.groups()
        if kind and "?" in kind:
            found[name] = f"required ({_cell(text)})" if text else "required"
        elif kind and not found.get(name):
            found[name] = _code(text) if text else "empty"
        else:
            found.setdefault(name, "")
    return {name: value or "set by the host" for name, value in sorted(found.items())}


def configuration_page() -> str:
    notes = configuration_notes()
    lines = [
        "# Configuration",
        "",
        GENERATED.format(
            what="`diaspora.settings.Settings.model_fields`, the package's source and `docker-compose.yml`"
        ),
        "",
        "One settings object (`plugins/diaspora/settings.py`, pydantic-settings) reads these variables;"
        " Airflow's own settings (`AIRFLOW__…`, connections as `AIRFLOW_CONN_…`) are separate. Each field"
        " of the settings object is the variable `DIASPORA_<FIELD>`; a value that does not fit its type"
        " or bounds is refused, naming the field. The description is the code's; the notes, where there"
        " are any, come from `docs/reference/configuration_notes.yml`.",
        "",
        "## Settings",
        "",
    ]
    missing = []
    rows = []
    for name, field in Settings.model_fields.items():
        variable = f"DIASPORA_{name.upper()}"
        description, note = field.description or "", notes.get(variable, "")
        if not description and not note:
            missing.append(variable)
        kind = ", ".join([_type_name(field.annotation), *_constraints(field.metadata)])
        text = " ".join(part for part in (_cell(description), f"*{_cell(note)}*" if note else "") if part)
        rows.append([_code(variable), _default(field.default), _cell(kind), text])
    if missing:
        raise ValueError(f"settings without a description in the code or a note: {missing}")
    lines += _table(["variable", "default", "type", "description"], rows)

    lines += [
        "## Read from the environment directly",
        "",
        "The DAG files read these when Airflow parses them, without the settings object (parsing stays"
        " cheap):",
        "",
    ]
    rows = [
        [
            _code(name),
            _code(default) if default is not None else "unset",
            _code(path),
            _cell(notes.get(name, "")),
        ]
        for name, (default, path) in sorted(environment_variables().items())
    ]
    undescribed = [row[0] for row in rows if not row[3]]
    if undescribed:
        raise ValueError(
            f"variables read from the environment without a note in {CONFIGURATION_NOTES.name}:"
            f" {', '.join(undescribed)}"
        )
    lines += _table(["variable", "default", "read in", "description"], rows) if rows else ["None today.", ""]

    from diaspora.sources import registry

    own = [
        s for s in registry().values() if s.sample_setting and s.sample_setting not in Settings.model_fields
    ]
    if own:
        lines += ["A source may read a setting of its own, not a field of the settings object:", ""]
        lines += [f"- {_code('DIASPORA_' + s.sample_setting.upper())}: the URL of `{s.key}`" for s in own]
        lines.append("")

    lines += [
        "## Variables of docker-compose.yml",
        "",
        "The production stack ([Production deploy](../guides/production.md)) substitutes these from `.env`"
        " (`make secrets` writes one with every secret generated); a required one without a value stops"
        " Compose with the message shown.",
        "",
    ]
    lines += _table(["variable", "default"], ([_code(n), v] for n, v in compose_variables().items()))
    lines += [
        "The tests read a few variables of their own: see"
        " [Tests](../design/tests.md#variables-the-tests-read).",
        "",
    ]
    return "\n".join(lines)


# --- DAGs -------------------------------------------------------------------------------------------


def _schedule_words(schedule: str) -> str:
    try:
        from cron_descriptor import ExpressionDescriptor, Options
    except ImportError:  # a dependency of Airflow's; the schedule is shown as written without it
        return ""
    options = Options()
    options.use_24hour_time_format = True
    try:
        return ExpressionDescriptor(PRESETS.get(schedule, schedule), options).get_description() + " (UTC)"
    except Exception:  # noqa: BLE001 - not a cron expression: shown as written
        return ""


def _schedule(schedule: str) -> str:
    words = _schedule_words(schedule)
    return f"{_code(schedule)}: {words[:1].lower()}{words[1:]}" if words else _code(schedule)


def _module_tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _function(tree: ast.AST, name: str) -> ast.FunctionDef:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise ValueError(f"no function {name} found")


def _asset_uri_template() -> str:
    """The URI of a source's Asset, as ``diaspora.assets.source_asset`` writes it (read from its
    source: importing it imports Airflow)."""
    for node in ast.walk(_function(_module_tree(ASSETS_FILE), "source_asset")):
        if isinstance(node, ast.keyword) and node.arg == "uri" and isinstance(node.value, ast.JoinedStr):
            return "".join(
                part.value if isinstance(part, ast.Constant) else "{" + ast.unparse(part.value) + "}"
                for part in node.value.values
            )
    raise ValueError(f"{_relative(ASSETS_FILE)}: source_asset names no uri")


def _asset(name: str, fact_table: str) -> str:
    uri = _asset_uri_template().format(source_key=name, fact_table=fact_table)
    return f"{_code(name)} ({_code(uri)})"


def _named_assets() -> dict[str, tuple[str, str]]:
    """Module-level Assets of ``diaspora.assets`` (``NAME = source_asset("key", "table")``)."""
    found = {}
    for node in _module_tree(ASSETS_FILE).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            call = node.value
            if ast.unparse(call.func) == "source_asset" and all(
                isinstance(a, ast.Constant) for a in call.args
            ):
                for target in node.targets:
                    found[ast.unparse(target)] = tuple(a.value for a in call.args)
    return found


def _tasks(body: ast.AST) -> list[dict]:
    """The ``@task`` functions defined in ``body``: name, docstring, pool, Assets emitted."""
    tasks = []
    for node in ast.walk(body):
        if not isinstance(node, ast.FunctionDef):
            continue
        decorators = [d for d in node.decorator_list if "task" in ast.unparse(d)]
        if not decorators:
            continue
        keywords = {k.arg: k.value for d in decorators if isinstance(d, ast.Call) for k in d.keywords}
        outlets = keywords.get("outlets")
        tasks.append(
            {
                "name": node.name,
                "doc": ast.get_docstring(node) or "",
                "pool": "pool" in keywords,
                "outlets": [ast.unparse(e) for e in outlets.elts] if isinstance(outlets, ast.List) else [],
                "kind": ast.unparse(decorators[0]).split("(")[0].removeprefix("@"),
            }
        )
    return tasks


def _task_rows(tasks: list[dict], assets: dict[str, str]) -> list[list[str]]:
    rows = []
    for t in tasks:
        what = _cell(_from_docstring(t["doc"]).split("\n\n")[0])
        emits = ", ".join(assets.get(o, _code(o)) for o in t["outlets"])
        kind = "" if t["kind"] == "task" else f" ({_code(t['kind'])})"
        rows.append([_code(t["name"]) + kind, "yes" if t["pool"] else "", emits, what])
    return rows


def _environment_value(node: ast.AST) -> str:
    """A value of the DAG defaults: a ``DIASPORA_*`` variable with its default, or the code."""
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and ast.unparse(call.func) in ("os.environ.get", "os.getenv"):
            name, default = (
                a.value if isinstance(a, ast.Constant) else ast.unparse(a) for a in call.args[:2]
            )
            return f"{_code(name)} (default {_code(default)}): {_code(ast.unparse(node))}"
    return _code(ast.unparse(node))


def _resolved(tree: ast.Module, node: ast.AST) -> ast.AST:
    """A module-level constant's value in place of its name (``START_DATE`` → ``datetime(…)``)."""
    if isinstance(node, ast.Name):
        for statement in tree.body:
            if isinstance(statement, ast.Assign) and [ast.unparse(t) for t in statement.targets] == [node.id]:
                return statement.value
    return node


def _dict_items(function: ast.FunctionDef) -> dict[str, ast.AST]:
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
            return {
                ast.literal_eval(k): v for k, v in zip(node.value.keys, node.value.values, strict=True) if k
            }
    raise ValueError(f"{function.name} returns no dict literal")


def _backfill_params(tree: ast.Module) -> list[tuple[str, str, str]]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "BACKFILL_PARAMS":
            params = []
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                default = ast.unparse(value.args[0]) if value.args else ""
                doc = next((k.value.value for k in value.keywords if k.arg == "description"), "")
                params.append((ast.literal_eval(key), default, doc))
            return params
    return []


def _dag_call(tree: ast.Module) -> ast.Call:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "DAG":
            return node
    raise ValueError("no DAG(...) call")


def _imported_from(tree: ast.Module, name: str) -> Path | None:
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and any(a.name == name for a in node.names):
            path = PROJECT_ROOT / "plugins" / Path(*node.module.split("."))
            return path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"
    return None


def other_dags() -> list[dict]:
    """The DAGs of the DAG files that are not built from the registry, read from their source."""
    dags = []
    for filename in OTHER_DAG_FILES:
        path = DAGS_DIR / filename
        tree = _module_tree(path)
        call = _dag_call(tree)
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        schedule_node = keywords["schedule"]
        if isinstance(schedule_node, ast.Constant):
            schedule = _schedule(schedule_node.value)
        else:  # a condition, e.g. any_source_loaded(): its own docstring says what it is
            name = ast.unparse(schedule_node.func if isinstance(schedule_node, ast.Call) else schedule_node)
            module = _imported_from(tree, name)
            doc = ast.get_docstring(_function(_module_tree(module), name)) if module else ""
            schedule = f"{_code(ast.unparse(schedule_node))}: {_cell(_from_docstring(doc or ''))}"
            if name == "any_source_loaded":
                from diaspora.sources import registry

                schedule += " The Assets: " + ", ".join(_code(key) for key in registry()) + "."
        tags = ["diaspora"]
        for settings_call in (k.value for k in call.keywords if k.arg is None):
            if isinstance(settings_call, ast.Call) and len(settings_call.args) > 1:
                tags += list(ast.literal_eval(settings_call.args[1]))
        dags.append(
            {
                "dag_id": ast.literal_eval(keywords["dag_id"]),
                "file": _relative(path),
                "doc": _from_docstring(ast.get_docstring(tree) or ""),
                "schedule": schedule,
                "tags": tags,
                "tasks": _tasks(tree),
            }
        )
    return dags


def _policy_rows(health: object) -> list[list[str]]:
    rows = [
        ["cadence", f"{health.cadence_days} days (older: `check_freshness` warns)"],
        [
            "value jump",
            f"{health.value_jump:g} (revision warning when more than {health.max_jump_share:g}"
            " of the values jump)",
        ],
        ["year jump factor", _number(health.year_jump_factor)],
    ]
    rows += [
        [f"revisions: {_code(f.name)}", _number(getattr(health.revisions, f.name))]
        for f in dataclasses.fields(health.revisions)
    ]
    return rows


def dags_page() -> str:
    from diaspora.health import every_source_health
    from diaspora.sources import registry

    sources = registry()
    health = every_source_health(Settings.model_fields["source_health_file"].default)
    orchestration = _module_tree(ORCHESTRATION_FILE)
    builder = _function(orchestration, "build_source_dag")
    named = {name: _asset(*key_table) for name, key_table in _named_assets().items()}
    others = other_dags()
    dag_files = ", ".join(f"`dags/{f}`" for f in OTHER_DAG_FILES)

    lines = [
        "# DAGs",
        "",
        GENERATED.format(
            what="the source registry (`diaspora.sources.registry()`), "
            f"`{_relative(ORCHESTRATION_FILE)}` and the DAG files {dag_files}"
        ),
        "",
        "`dags/sources.py` builds one DAG per registered source (its key is the DAG id); the other DAG"
        " files declare one DAG each.",
        "",
    ]
    rows = [
        [
            f"[{_code(s.key)}](#{s.key})",
            _schedule(s.schedule),
            _code(s.key),
            _code(s.fact_table),
            _cell(s.publisher),
        ]
        for s in sources.values()
    ]
    assets = _named_assets()
    for dag in others:
        emitted = [assets[o] for t in dag["tasks"] for o in t["outlets"] if o in assets]
        rows.append(
            [
                f"[{_code(dag['dag_id'])}](#{dag['dag_id']})",
                dag["schedule"],
                ", ".join(_code(name) for name, _ in emitted) or "—",
                ", ".join(_code(table) for _, table in emitted) or "—",
                "this project",
            ]
        )
    lines += _table(["DAG id", "schedule", "emits Asset", "fact table", "publisher"], rows)
    lines += [f"An Asset's URI is {_code(_asset_uri_template())}.", ""]

    lines += [
        "## What every DAG shares",
        "",
        f"From `dag_settings` and `default_args` in `{_relative(ORCHESTRATION_FILE)}`:",
        "",
    ]
    shared = _dict_items(_function(orchestration, "dag_settings"))
    defaults = _dict_items(_function(orchestration, "default_args"))
    rows = [
        [_code(k), _environment_value(_resolved(orchestration, v))]
        for k, v in shared.items()
        if k not in ("default_args", "doc_md", "tags")
    ]
    rows += [[_code(f"default_args[{k!r}]"), _environment_value(v)] for k, v in defaults.items()]
    lines += _table(["DAG argument", "value"], rows)

    lines += [
        "## Source DAGs",
        "",
        _from_docstring(ast.get_docstring(builder) or ""),
        "",
        "Their tasks (the pool is the warehouse pool, `DIASPORA_WAREHOUSE_POOL`):",
        "",
    ]
    lines += _table(
        ["task", "in the pool", "emits", "what it does"],
        _task_rows(_tasks(builder), {"asset": "the source's Asset"}),
    )
    lines += ["Triggered with a conf, a source DAG loads a stored release instead of fetching:", ""]
    lines += _table(
        ["conf key", "default", "what it does"],
        ([_code(k), _code(d), _cell(doc)] for k, d, doc in _backfill_params(orchestration)),
    )

    for source in sources.values():
        summary, _, rest = _from_docstring(source.description).partition("\n\n")
        lines += [f"### {source.key}", "", _escape(summary.strip()), "", _escape(rest.strip()), ""]
        source_health = health[source.key]
        facts = [
            ["publisher", _cell(source.publisher)],
            ["dataset", _cell(source.dataset)],
            ["licence", _cell(source.licence)],
            ["citation", _cell(source.citation)],
            ["schedule", _schedule(source.schedule)],
            ["fact table", f"{_code(source.fact_table)} (measure {_code(source.value_column)})"],
            ["dimensions loaded first", ", ".join(_code(t) for t in source.dimension_tables) or "—"],
            ["emits Asset", _asset(source.key, source.fact_table)],
            [
                "releases",
                "editions: each re-estimates the whole series; a new one is held for review"
                if source.editions
                else "restate values; a value no newer release carries stays current",
            ],
            [
                "each release covers",
                "its own year(s) only" if source.release_covers_own_years else "the whole series",
            ],
            [
                "task retries",
                str(source.retries) if source.retries is not None else "`DIASPORA_TASK_RETRIES`",
            ],
            ["contract cadence", f"{source.cadence_days} days"],
            [
                "its URL setting",
                _code("DIASPORA_" + source.sample_setting.upper()) if source.sample_setting else "—",
            ],
            ["bundled sample", _code(source.sample) if source.sample else "—"],
            ["tags", ", ".join(_code(t) for t in ("diaspora", "source", *source.tags))],
        ]
        lines += _table(["contract", ""], facts)
        lines += [
            "Health and revision policy (`config/source_health.yml`, defaults where it says nothing):",
            "",
        ]
        lines += _table(["health", ""], _policy_rows(source_health))

    for dag in others:
        summary, _, rest = dag["doc"].partition("\n\n")
        lines += [f"## {dag['dag_id']}", "", _escape(summary.strip()), "", _escape(rest.strip()), ""]
        lines += _table(
            ["DAG", ""],
            [
                ["file", _code(dag["file"])],
                ["schedule", dag["schedule"]],
                ["tags", ", ".join(_code(t) for t in dag["tags"])],
            ],
        )
        lines += _table(["task", "in the pool", "emits", "what it does"], _task_rows(dag["tasks"], named))
    return "\n".join(lines)


# --- data dictionary and indicators ----------------------------------------------------------------


def data_dictionary_page() -> str:
    from diaspora.warehouse.bi_catalog import data_dictionary

    text = data_dictionary().replace(
        "by `diaspora docs`; do not edit by hand.",
        "by `diaspora.docs_site`"
        " at build time (the same text `diaspora docs` writes to"
        " `docs/data_dictionary.md`); do not edit by hand.",
    )
    return "\n".join(
        _escape_row(line) if line.startswith("|") else _escape(line) for line in text.split("\n")
    )


def _escape_row(line: str) -> str:
    """A table row of the data dictionary: each cell escaped, the separators kept."""
    if set(line) <= set("|-"):
        return line
    cells = line.strip().strip("|").split(" | ")
    return "| " + " | ".join(_escape(c.strip()) for c in cells) + " |"


def indicators_page() -> str:
    from diaspora.sources.worldbank_indicators.settings import load_config

    path = Settings.model_fields["worldbank_indicators_file"].default
    raw = yaml.safe_load(Path(path).read_text())
    config = load_config(path)
    end = raw.get("end_year", "latest")
    lines = [
        "# World Bank indicators",
        "",
        GENERATED.format(what=f"`{_relative(path)}` (`DIASPORA_WORLDBANK_INDICATORS_FILE`)"),
        "",
        f"The `worldbank_indicators` DAG pulls these {len(config.indicators)} indicators for every country"
        f" and aggregate, {config.start_year} to "
        + ("the current calendar year" if end == "latest" else str(end))
        + ". Add one in the file, not in code ([Sources](../guides/sources.md#world-bank-indicators)).",
        "",
    ]
    rows = []
    for i in config.indicators:
        checks = []
        if i.non_negative:
            checks.append("a negative value is critical")
        if i.percentage:
            checks.append("above 100 flagged `pct_above_100` (warning)")
        rows.append(
            [_code(i.code), _cell(i.name), _cell(i.unit or ""), _cell(i.topic or ""), "; ".join(checks)]
        )
    lines += _table(["code", "name", "unit", "topic", "checks"], rows)
    return "\n".join(lines)


# --- commands --------------------------------------------------------------------------------------

MAKEFILE = PROJECT_ROOT / "Makefile"


def make_targets() -> list[tuple[str, str]]:
    """The targets ``make help`` prints, with what it says of each (read from the Makefile)."""
    return re.findall(r'^\t@echo "make ([\w-]+)\s+(.*?)"\s*$', MAKEFILE.read_text(), re.M)


def _argument_default(action: object) -> str:
    default = action.default
    if default is None or default is False or action.nargs == 0:
        return ""
    return _default(default if not isinstance(default, Path) else Path(default))


def _command_sections(parser: object, prefix: str, level: int) -> list[str]:
    import argparse

    lines = []
    for action in parser._actions:  # argparse keeps its subcommands there: no public accessor
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, sub in action.choices.items():
            command = f"{prefix} {name}"
            usage = " ".join(sub.format_usage().split()).removeprefix("usage: ")
            lines += [
                "#" * level + f" {command}",
                "",
                _escape(helps.get(name) or ""),
                "",
                "```",
                usage,
                "```",
                "",
            ]
            arguments = [
                [_code(", ".join(a.option_strings) or a.dest), _argument_default(a), _cell(a.help or "")]
                for a in sub._actions
                if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
            ]
            if arguments:
                lines += _table(["argument", "default", "what it does"], arguments)
            lines += _command_sections(sub, command, level + 1)
    return lines


def commands_page() -> str:
    from diaspora.cli import build_parser

    parser = build_parser()
    lines = [
        "# Commands",
        "",
        GENERATED.format(
            what="the `help` target of the `Makefile` and the `diaspora` command's argument"
            " parser (`diaspora.cli.build_parser`)"
        ),
        "",
        "## make",
        "",
        "The README's two commands are `make demo` and `make test`; `make help` lists these:",
        "",
    ]
    lines += _table(
        ["target", "what it does"], ([_code(f"make {t}"), _cell(text)] for t, text in make_targets())
    )
    lines += [
        "## diaspora",
        "",
        "The `diaspora` command (`.venv/bin/diaspora`, or `diaspora` inside the Airflow image). A"
        " user's mistake prints one line and exits 2; `--debug` shows the traceback of an error.",
        "",
        "```",
        " ".join(parser.format_usage().split()).removeprefix("usage: "),
        "```",
        "",
    ]
    lines += _command_sections(parser, "diaspora", 3)
    return "\n".join(lines)


# --- the pages ------------------------------------------------------------------------------------

PAGES: dict[str, Callable[[], str]] = {
    "reference/commands.md": commands_page,
    "reference/configuration.md": configuration_page,
    "reference/dags.md": dags_page,
    "reference/data-dictionary.md": data_dictionary_page,
    "reference/indicators.md": indicators_page,
}


def reference_pages() -> dict[str, str]:
    """Every generated page by its path in the site's ``docs`` folder."""
    pages = {path: render().rstrip() + "\n" for path, render in PAGES.items()}
    root = str(PROJECT_ROOT)
    leaked = [path for path, text in pages.items() if root in text]
    if leaked:
        raise ValueError(f"generated pages name this machine's project path ({root}): {leaked}")
    return pages


def write_reference_pages(folder: Path | str) -> list[Path]:
    """Write every generated page under ``folder`` (``reference/…``); return their paths."""
    written = []
    for relative, text in reference_pages().items():
        path = Path(folder) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def on_files(files, config):  # noqa: ANN001, ANN201 - the MkDocs hook's own signature
    """MkDocs hook: add the generated pages to the build (they are never files in ``docs/``)."""
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    for path, text in reference_pages().items():
        if files.get_file_from_path(path) is not None:
            raise PluginError(f"docs/{path} is generated by diaspora.docs_site: remove the file in docs/")
        files.append(File.generated(config, path, content=text))
    return files


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m diaspora.docs_site FOLDER")
    for written in write_reference_pages(sys.argv[1]):
        print(written)
