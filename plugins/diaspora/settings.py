"""One settings object for the whole project, read from ``DIASPORA_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = PROJECT_ROOT / "sql"  # migrations, views, the mart's SELECTs, the views' documentation


class Settings(BaseSettings):
    """Configuration of the pipeline. Every field is ``DIASPORA_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="DIASPORA_", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"),
        description="Root of the raw landing area, parsed files and the default DuckDB file.",
    )
    warehouse_url: str = Field(
        default="",
        description="SQLAlchemy URL of the warehouse; default duckdb:///<data_dir>/warehouse.duckdb.",
    )
    warehouse_admin_url: str | None = Field(
        default=None,
        description=(
            "PostgreSQL superuser URL for the deploy alone (`diaspora migrate`): it creates the pipeline's"
            " NOSUPERUSER owner role (the user of DIASPORA_WAREHOUSE_URL) and the BI role. Never give it"
            " to the Airflow services."
        ),
    )
    duckdb_memory_limit: str = Field(
        default="1GB",
        pattern=r"^\d+(\.\d+)?[KMGT]i?B$",
        description=(
            "Memory a DuckDB warehouse may use before it spills to <database file>.tmp (DuckDB's own"
            " default is 80 % of RAM). A memory_limit in the warehouse URL wins."
        ),
    )
    warehouse_pool: str = Field(
        default="diaspora_warehouse",
        description="Airflow pool of every task that opens the warehouse (`diaspora pool` creates it).",
    )
    warehouse_pool_slots: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Slots of that pool: tasks that may use the warehouse at once. DuckDB allows one process, so"
            " 1 (and nothing else) there; default 8 on PostgreSQL."
        ),
    )
    worldbank_base_url: str = Field(
        default="https://api.worldbank.org/v2",
        description="World Bank Indicators API v2 base URL (http(s):// or file:// for a snapshot).",
    )
    worldbank_per_page: int = Field(default=1000, ge=1, le=32500)
    worldbank_indicators_file: Path = Field(
        default=PROJECT_ROOT / "config" / "worldbank_indicators.yml",
        description="YAML list of World Bank indicators to pull.",
    )
    undesa_ims_url: str = Field(
        default=(
            "https://www.un.org/development/desa/pd/sites/www.un.org.development.desa.pd/files/"
            "undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx"
        ),
        description="UN DESA International Migrant Stock workbook (by destination, origin and sex).",
    )
    undesa_total_tolerance: float = Field(
        default=0.005,
        ge=0,
        description="Allowed relative gap between a destination's sum over origins and its total row.",
    )
    knomad_matrix_url: str = Field(
        default=(
            "https://pubdocs.worldbank.org/en/705611533661084197/bilateralremittancematrix2017-Apr2018.xlsx"
        ),
        description=(
            "World Bank/KNOMAD Bilateral Remittance Matrix workbook: one edition (2017 by default; point"
            " it at a later edition's workbook to load that one). http(s):// or file://."
        ),
    )
    excel_engine: str = Field(
        default="calamine",
        pattern="^(calamine|openpyxl)$",
        description="pandas engine that reads Excel workbooks (calamine is several times faster).",
    )
    unhcr_base_url: str = Field(
        default="https://api.unhcr.org/population/v1",
        description="UNHCR Refugee Population Statistics API base URL (http(s):// or file:// snapshot).",
    )
    unhcr_year_from: int = Field(default=2000, ge=1951, description="First year pulled from UNHCR.")
    unhcr_page_limit: int = Field(default=10000, ge=1, description="Items per UNHCR API page.")
    reporting_copy: Path | None = Field(
        default=None,
        description=(
            "DuckDB only: the read-only copy of the reporting layer published after every load, which"
            " BI tools, `diaspora report` and the factsheets read; default beside the warehouse file,"
            " <its name>_reporting.duckdb (data/warehouse_reporting.duckdb). Not reporting.duckdb:"
            " DuckDB names a database after its file, which would clash with the schema reporting."
        ),
    )
    survey_inbox: Path | None = Field(
        default=None, description="Folder where survey files are dropped; default <data_dir>/surveys/inbox."
    )
    survey_definitions_dir: Path = Field(
        default=PROJECT_ROOT / "config" / "surveys", description="Survey definitions (one YAML per survey)."
    )
    survey_salt: str | None = Field(
        default=None, description="Secret salt for hashing personal survey columns (never commit it)."
    )
    survey_min_cell: int = Field(
        default=10,
        ge=1,
        description="Fewest answers behind a published survey estimate; smaller cells are suppressed.",
    )
    survey_max_bytes: int = Field(
        default=512 * 1024**2, ge=1, description="Largest survey file taken (bytes)."
    )
    survey_max_uncompressed_bytes: int = Field(
        default=1024**3, ge=1, description="Largest uncompressed content of an XLSX survey file (bytes)."
    )
    survey_max_expansion: float = Field(
        default=100.0, gt=1, description="Largest uncompressed/compressed ratio of an XLSX file (zip bombs)."
    )
    survey_max_columns: int = Field(default=2000, ge=1, description="Most columns a survey file may have.")
    survey_max_rows: int = Field(
        default=2_000_000, ge=1, description="Most data rows a survey file may have."
    )
    survey_settle_seconds: float = Field(
        default=60.0,
        ge=0,
        description="A file in the inbox is taken once it has not changed (size, mtime) for this long.",
    )
    survey_max_attempts: int = Field(
        default=3,
        ge=1,
        description="Attempts at a file that end with its worker gone (killed, timed out) before quarantine.",
    )
    alert_webhook_url: str | None = Field(
        default=None,
        description="Generic JSON webhook (Teams, PagerDuty, Opsgenie relays…) that receives every alert.",
    )
    alert_slack_conn_id: str | None = Field(
        default=None, description="Airflow connection (type slackwebhook) that receives alerts on Slack."
    )
    alert_email_to: str | None = Field(
        default=None, description="Comma-separated addresses that receive alerts by email."
    )
    alert_smtp_conn_id: str = Field(default="smtp_default", description="Airflow SMTP connection for alerts.")
    airflow_base_url: str = Field(
        default="http://localhost:8080", description="Airflow UI address used in the links of alerts."
    )
    source_health_file: Path = Field(
        default=PROJECT_ROOT / "config" / "source_health.yml",
        description="Per-source cadence and hold-back thresholds.",
    )
    bi_role: str = Field(
        default="diaspora_bi", description="PostgreSQL role that BI tools use (reads reporting only)."
    )
    bi_password: str | None = Field(
        default=None, description="Password of the BI role; the role is created or updated when this is set."
    )
    bi_statement_timeout: int = Field(
        default=60, ge=1, description="Seconds a query of the BI role may run before PostgreSQL cancels it."
    )
    bi_connection_limit: int = Field(
        default=20, ge=1, description="Connections the BI role may hold at once."
    )
    factsheet_countries: str = Field(
        default="TJK,KAZ,KGZ,TKM,UZB",
        description="ISO3 codes of the countries that get a factsheet, or all (every country with data).",
    )
    factsheet_group: str = Field(
        default="EEA", description="Country group shown on factsheets (a group code)."
    )
    expectations_dir: Path = Field(default=PROJECT_ROOT / "expectations")
    http_connect_timeout: float = Field(default=10.0, gt=0)
    http_read_timeout: float = Field(default=60.0, gt=0)
    http_max_retries: int = Field(default=5, ge=0)
    http_backoff_factor: float = Field(default=1.0, ge=0)
    http_max_bytes: int = Field(
        default=256 * 1024**2,
        ge=1024,
        description="Largest response body a source may send (bytes); a larger one fails the fetch.",
    )
    http_max_pages: int = Field(
        default=1000, ge=1, description="Most pages a paged API may announce for one resource."
    )
    http_max_retry_after: float = Field(
        default=300.0,
        ge=0,
        description="Longest Retry-After (seconds) a source may ask us to wait; a longer one fails.",
    )
    http_max_redirects: int = Field(
        default=5, ge=0, description="Redirects followed per request (http(s) only)."
    )
    http_user_agent: str = Field(
        default="diaspora-warehouse/0.1 (diaspora statistics pipeline)",
        description="User-Agent sent to sources; some refuse generic ones. Add a contact address.",
    )
    notify_on_success: bool = Field(
        default=True,
        description="Send a notification (severity info) for every loaded release, with what it changed.",
    )
    row_count_tolerance: float = Field(
        default=0.2,
        ge=0,
        description="Allowed relative change of a dataset's row count against its previous release.",
    )

    @model_validator(mode="after")
    def _default_warehouse(self) -> Settings:
        if not self.warehouse_url:
            self.warehouse_url = f"duckdb:///{self.data_dir / 'warehouse.duckdb'}"
        return self

    @property
    def warehouse_is_duckdb(self) -> bool:
        return self.warehouse_url.startswith("duckdb:")

    @property
    def pool_slots(self) -> int:
        """Warehouse tasks that may run at once: one on DuckDB (a single process may open the
        file for writing, and none may read it meanwhile), several on PostgreSQL."""
        if self.warehouse_is_duckdb:
            if self.warehouse_pool_slots not in (None, 1):
                raise ValueError(
                    f"DIASPORA_WAREHOUSE_POOL_SLOTS={self.warehouse_pool_slots} with a DuckDB warehouse: "
                    "DuckDB allows one process at a time, so its pool has 1 slot"
                )
            return 1
        return self.warehouse_pool_slots or 8

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def parsed_dir(self) -> Path:
        return self.data_dir / "parsed"

    @property
    def reporting_copy_path(self) -> Path:
        """Beside a DuckDB warehouse file, ``<its name>_reporting.duckdb`` (data/warehouse.duckdb →
        data/warehouse_reporting.duckdb): the copy belongs to its warehouse, wherever the data go."""
        if self.reporting_copy:
            return self.reporting_copy
        database = sa_url_database(self.warehouse_url)
        if database:
            path = Path(database)
            return path.with_name(f"{path.stem}_reporting.duckdb")
        return self.data_dir / "warehouse_reporting.duckdb"

    @property
    def survey_inbox_dir(self) -> Path:
        return self.survey_inbox or self.data_dir / "surveys" / "inbox"

    @property
    def factsheet_country_codes(self) -> list[str]:
        """ISO3 codes of the factsheets to render; empty for ``all`` (every country with data)."""
        if self.factsheet_countries.strip().lower() == "all":
            return []
        return [c.strip().upper() for c in self.factsheet_countries.split(",") if c.strip()]

    @property
    def data_docs_dir(self) -> Path:
        """Great Expectations Data Docs, one static site for every source."""
        return self.data_dir / "data_docs"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process; tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings()


def sa_url_database(url: str) -> str | None:
    """The database file of a DuckDB URL (``duckdb:///path``), else None."""
    prefix = "duckdb:///"
    if not url.startswith(prefix):
        return None
    database = url[len(prefix) :].split("?", 1)[0]
    return database if database and database != ":memory:" else None
