"""Configuration: one `Settings` object, read from `CITOYEN_*` environment variables and passed down."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_LOCALES = ("fr", "en")
# The early warning's default routing of a sensor's alerts: the kind of its Thing -> a department's code (those of
# the demo city; a city sets its own in CITOYEN_ALERT_DEPARTMENTS).
DEFAULT_ALERT_DEPARTMENTS = {"air": "espaces-verts", "water": "proprete", "energy": "energie", "mobility": "mobilite"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITOYEN_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("citoyen-data"), description="Where the embedded database lives.")
    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL; empty means SQLite in data_dir. "
        "Production: postgresql+asyncpg://user:pass@host/db",
    )
    # Connections each app process keeps open, and the extra ones it may open under bursts (closed again
    # after use). Kept at least as large as the requests a process serves at once: opening a PostgreSQL
    # connection costs a backend process start, more than most requests. Budget: processes x (both) must
    # stay under the server's max_connections (100 by default).
    database_pool_size: int = Field(default=16, ge=1)
    database_max_overflow: int = Field(default=8, ge=0)
    # Seconds one SQL statement of the served app may run before the database cancels it (0: no limit), so
    # that no request's query can hold a connection and the CPU for long; the request then answers 503. Only
    # the app's engine has it: migrations, the demo build, the CLI's imports and bench/ loads run long.
    database_statement_timeout_seconds: float = Field(default=30.0, ge=0)
    # Admission control (citoyen.web.admission): expensive requests (GETs of pages and APIs) one process serves
    # at once. Past them a request waits, holding no connection, up to admission_max_wait_seconds and with at
    # most admission_max_waiting others, then gets a 503 with Retry-After. Started all at once, 32 heavy
    # requests shared the one event loop and the pool, and /healthz waited seconds behind them. SensorThings
    # reads wait for their own slots (sta_max_concurrent_reads) with the same bounds; writes are never queued.
    admission_max_concurrent: int = Field(default=8, ge=1)
    admission_max_waiting: int = Field(default=64, ge=0)
    admission_max_wait_seconds: float = Field(default=10.0, ge=0)
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="Signs session cookies; empty means a random key kept in data_dir/secret_key.",
    )
    city_name: str = "Paris"
    default_locale: Literal["fr", "en"] = "fr"
    # The public address absolute links start with (mails, APIs' links, open data), e.g. https://ville.example;
    # empty: the address a trusted proxy served the request at, else the one the platform serves on
    # (citoyen.addresses.base_url decides). Set it behind a proxy: mails and background jobs have no request.
    base_url: str = ""
    # The address `citoyen serve` listens on, written by it (also for its workers); not for users to set.
    served_url: str = ""

    # Map: the city's own layers are always drawn; a raster tile layer (a Leaflet URL template) is drawn under them
    # when its server answers. The default is IGN's Plan IGN v2 (WMTS of the Géoplateforme, open data under the
    # Licence Ouverte, no key needed); pages drop it on their first tile error (offline), and "" turns it off.
    map_tile_url: str = (
        "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM&FORMAT=image/png"
        "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
    )
    map_tile_attribution: str = "© IGN – Plan IGN, Licence Ouverte"
    # The city's time zone (IANA name): the neighbourhood feed's events are typed and shown in it; times are
    # stored in UTC.
    time_zone: str = "Europe/Paris"

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Paris)") from error
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    # Geocoding: a BAN-compatible search API (e.g. https://api-adresse.data.gouv.fr/search/) asked first when set,
    # for at most geocoder_timeout_seconds; the addresses imported with `citoyen territory import-addresses` answer
    # otherwise, and whenever it fails.
    geocoder_url: str = ""
    geocoder_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    # Mail: with no SMTP host, messages go to the outbox page (demo and development).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True
    mail_from: str = "Citoyen <no-reply@citoyen.local>"
    # Mail leaves through the outbox: each served process sends what is due this often.
    mail_send_interval_seconds: float = Field(default=2.0, gt=0)

    demo_mode: bool = False
    demo_seed: int = 2026
    demo_citizens: int = 3000
    demo_reports: int = 3000

    # Login throttling, so that guessing is slow and nobody can lock an owner out. Failures from one client
    # address on one account: from the login_max_failures-th, that client waits login_delay_seconds, doubled
    # at each further failure (capped at the window). One client address on any accounts: at most
    # login_client_max_failures. One account from anywhere: past login_account_max_failures its password is
    # not checked until the window ends, and its owner is mailed a one-time login link instead.
    login_max_failures: int = 5
    login_delay_seconds: int = 30
    login_client_max_failures: int = 20
    login_account_max_failures: int = 20
    login_window_minutes: int = 15
    # Hours a link mailed to confirm a sign-up, or to log in while an account is under attack, stays valid.
    login_link_hours: int = 2
    # A session's "last seen" is written at most this often, so that pages do not write on every request.
    session_touch_minutes: int = 5
    password_reset_hours: int = 2
    # Days the outbox (mail kept when no SMTP server is configured) keeps a message.
    outbox_retention_days: int = 14
    # Cookies are marked Secure whenever a request arrives over HTTPS (directly, or through a trusted proxy's
    # X-Forwarded-Proto); `cookie_secure` marks them so on every request, for a proxy that does not say.
    cookie_secure: bool = False
    # Addresses (or networks, comma-separated) whose X-Forwarded-For/-Proto/-Host headers are believed
    # (citoyen.web.proxies): the reverse proxy in front of the platform. "*" trusts everyone, which only a
    # private network may do.
    trusted_proxies: str = "127.0.0.1"
    # How long browsers keep to HTTPS once they saw the platform over it (Strict-Transport-Security); 0: off.
    hsts_seconds: int = Field(default=31_536_000, ge=0)

    # Reports: abuse limits (Open311 per API key, the web form per client address) and Open311 identity.
    open311_requests_per_minute: int = 6000
    anonymous_reports_per_hour: int = 10
    open311_jurisdiction_id: str = ""
    # How long an Open311 GET requests answer may be served again while no report changed (0: never).
    open311_cache_seconds: float = 2.0
    # How long a process trusts its copy of the city's neighbourhoods and the report catalog before it asks
    # the database whether they changed (0: ask on every use). An edit shows in other processes this late.
    reference_cache_seconds: float = Field(default=1.0, ge=0)

    # SensorThings API: the page size when $top is absent, and the largest $top honoured.
    sta_default_top: int = Field(default=100, ge=1)
    sta_max_top: int = Field(default=10_000, ge=1)
    # Bounds on what one SensorThings GET may ask for, so that no anonymous request can exhaust the server (a
    # deep $expand once answered 70 MB and grew the process to 17 GB). Beyond any of them the answer is a 400
    # that names the limit. Expand depth counts the navigation segments of one path (Datastreams/Thing is 2),
    # expand items every navigation property expanded, all levels together (as OData's MaxExpandDepth and
    # MaxExpandCount); entities count the top level and every expanded one; bytes are the JSON answer's.
    sta_max_expand_depth: int = Field(default=4, ge=1)
    sta_max_expand_items: int = Field(default=16, ge=1)
    sta_max_entities: int = Field(default=20_000, ge=1)
    sta_max_response_bytes: int = Field(default=25_000_000, ge=1)
    # Characters of one query option's value, and the terms (operands, operators, functions) and nesting depth
    # of one $filter or $orderby: a 3,000-term $filter exhausted Python's recursion limit.
    sta_max_option_length: int = Field(default=8_000, ge=1)
    sta_max_expression_terms: int = Field(default=1_000, ge=1)
    sta_max_expression_depth: int = Field(default=100, ge=1)
    # SensorThings GETs one process serves at once; more wait their turn (as long as admission allows, then 503).
    # Each may take a database connection and much CPU, so a crowd of them would otherwise take every pooled
    # connection (/healthz waited for one). Building a big answer holds the event loop: under 32 clients,
    # 1, 2 and 4 slots served as many reads, but /healthz waited 0.3, 0.5-0.7 and 1.2 s at most on SQLite, and
    # 0.45-0.6 against 0.7-0.8 s for 1 and 2 slots on PostgreSQL (bench/abuse.py, bench/README.md).
    sta_max_concurrent_reads: int = Field(default=1, ge=1)
    # SensorThings writes: what one entity may hold, so that a client cannot store a 10 MB description that
    # every later page then serves. Names are capped by their column (300 characters) as well.
    sta_max_name_chars: int = Field(default=300, ge=1, le=300)
    sta_max_text_chars: int = Field(default=10_000, ge=1)  # descriptions, definitions, metadata
    sta_max_json_bytes: int = Field(default=65_536, ge=1)  # each of properties, parameters, result, ...
    # Observations one CreateObservations request may carry: SQLite has one writer, and a request holds the
    # write lock while it stores (330,000 Observations held it 17.6 s). Beyond it the client gets 413.
    sta_max_observations_per_request: int = Field(default=50_000, ge=1)
    # A larger CreateObservations is committed in transactions of this many Observations, so that other writers
    # (MQTT ingest, the demo feed, other clients) get SQLite's write lock in between; with an Idempotency-Key a
    # retry after a failure halfway resumes where the committed ones stop. Unset: 5,000 on SQLite; on PostgreSQL,
    # whose writers do not wait for one another, a whole request in one transaction (each transaction's own
    # statements, a dozen, cost a 10,000-row request a third of its time when it was cut in two).
    sta_observations_per_transaction: int | None = Field(default=None, ge=1)
    # How long the answer to a SensorThings POST sent with an Idempotency-Key is kept for the client's retries.
    sta_idempotency_hours: float = Field(default=24.0, gt=0)
    # A SensorThings $batch: at most this many requests and bytes (a larger one is refused before it runs: 400, 413).
    sta_batch_max_requests: int = Field(default=1_000, ge=1)
    sta_batch_max_bytes: int = Field(default=10_000_000, ge=1)
    # Sensing over MQTT (OGC SensorThings MQTT extension): empty URL means MQTT is off, HTTP still works.
    # Also announced in the SensorThings service root.
    mqtt_url: str = Field(default="", description="mqtt://[user:password@]host[:port] of the broker; empty: off.")
    mqtt_topic_prefix: str = Field(default="", description="Put before every SensorThings topic (e.g. 'city/').")
    mqtt_client_id: str = Field(default="citoyen", description="Unique per worker: the broker keeps its session.")
    mqtt_shared_group: str = Field(default="", description="Several workers share the ingest via $share/<group>/.")
    mqtt_session_expiry_seconds: int = 3600
    mqtt_batch_size: int = 500
    # Live sensor pages (server-sent events): a comment line this often keeps proxies from closing the stream.
    sensing_live_heartbeat_seconds: float = 15.0
    # Domain events cross the served processes of one PostgreSQL database (LISTEN/NOTIFY, one connection per
    # process), so a live chart sees readings stored through another worker; no effect on SQLite (one process).
    events_across_workers: bool = True
    # The demo keeps its sensors reading: one value per sensor every this many seconds.
    demo_sensor_interval_seconds: float = 60.0

    # Open data: where uploaded resource files are kept (content-addressed by SHA-256; empty: data_dir/opendata),
    # and the largest file one upload may bring (a bigger one is refused and nothing is stored).
    opendata_dir: Path | None = None
    opendata_max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    # The platform republishes its own datasets into the catalogue this often (a housekeeping job of the running
    # app; a new file version only when its content changed); 0 leaves it to `citoyen opendata publish`.
    opendata_refresh_seconds: float = Field(default=3600.0, ge=0)

    # Housekeeping (expired sessions and links, spent rate counters, observation partitions ahead): every served
    # process runs a round this often; 0 leaves it to `citoyen housekeeping` run by a scheduler.
    housekeeping_interval_seconds: float = Field(default=600.0, ge=0)
    # The indicators' rollups fold in the readings stored since the last fold this often (the pages lag ingest by
    # about this much); 0: only on the housekeeping round and `citoyen indicators rebuild`.
    indicators_fold_interval_seconds: float = Field(default=5.0, ge=0)
    # The projects' map: each served process checks this often whether a project changed, and then rebuilds the
    # stored city-wide answers in the background (a visitor is served the previous one meanwhile); 0: never (each
    # out-of-date answer is rebuilt by the request that finds it).
    projects_map_interval_seconds: float = Field(default=1.0, ge=0)

    # Early warning: the department whose staff are told of a sensor's alerts and may mark them, by the kind of its
    # Thing (air, water, energy, mobility, other), as a JSON object of department codes; a Thing's or Datastream's
    # property "department" (a code) overrides it. Unknown or absent: the staff without a department are told.
    alert_departments: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ALERT_DEPARTMENTS))

    # Participation: the daily e-mail digest of followed news (only to people who consented).
    digest_hour_utc: int = Field(default=6, ge=0, le=23)
    digest_task_enabled: bool = Field(default=True, description="Send the daily digests from the running app.")

    # Residents' verification: the key of the identifiers' hashes (never stored in the database; empty means a
    # random one kept in data_dir/verification_pepper), and guesses allowed per account per hour.
    verification_pepper: SecretStr = SecretStr("")
    verification_attempts_per_hour: int = 5

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'citoyen.sqlite3'}"
        return self

    @property
    def observations_per_transaction(self) -> int:
        """`sta_observations_per_transaction`, or its default for the database."""
        if self.sta_observations_per_transaction is not None:
            return self.sta_observations_per_transaction
        return 5_000 if self.is_sqlite else self.sta_max_observations_per_request

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def opendata_path(self) -> Path:
        """The directory of the open-data files."""
        return self.opendata_dir or self.data_dir / "opendata"

    @property
    def mail_to_outbox(self) -> bool:
        return not self.smtp_host

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept beside the embedded database."""
        if self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key
