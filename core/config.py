"""Typed configuration loaded from the YAML files in config/.

Every file is validated with pydantic at start-up; an error names the file, the key path and what was
expected, so an operator can fix it without reading code. Secrets never live in these files: they name an
environment variable (``*_env`` keys) that holds the secret.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wagewatch.core import timewindow

SHANDONG_CITIES: tuple[str, ...] = (
    "济南",
    "青岛",
    "淄博",
    "枣庄",
    "东营",
    "烟台",
    "潍坊",
    "济宁",
    "泰安",
    "威海",
    "日照",
    "临沂",
    "德州",
    "聊城",
    "滨州",
    "菏泽",
)

# Relative to the working directory the service runs in (never inside an installed package).
DEFAULT_CONFIG_DIR = Path("config")
CONFIG_DIR_ENV = "WAGEWATCH_CONFIG_DIR"


ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigError(Exception):
    """A configuration file is missing, unreadable or invalid; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _checked(parse: Callable[[str], object]) -> Callable[[str], str]:
    def check(value: str) -> str:
        parse(value)
        return value

    return check


# Kept as the text the operator wrote; parsed by wagewatch.core.timewindow, the one parser.
TimeOfDay = Annotated[str, AfterValidator(_checked(timewindow.time_of_day))]
Window = Annotated[str, AfterValidator(_checked(timewindow.bounds))]


# ---------------------------------------------------------------- settings.yaml


class SmtpSettings(_Strict):
    host: str | None = None
    port: int = 25
    username: str | None = None
    password_env: str = "WAGEWATCH_SMTP_PASSWORD"
    starttls: bool = False
    ssl: bool = False
    sender: str = "wagewatch@localhost"
    timeout_seconds: float = 20.0

    @property
    def password(self) -> str | None:
        return os.environ.get(self.password_env)


class ElasticsearchSettings(_Strict):
    url: str | None = None
    username: str | None = None
    password_env: str = "WAGEWATCH_ES_PASSWORD"
    index_prefix: str = Field("wagewatch", pattern=r"^[a-z0-9][a-z0-9_-]*$")
    verify_certs: bool = True
    ca_certs: str | None = None
    # cjk needs no plugin; smartcn and ik need the analysis-smartcn or IK plugin on every node.
    chinese_analyzer: Literal["cjk", "smartcn", "ik"] = "cjk"
    # Query-time synonyms (Solr format: one group of equivalent words per entry) for the cjk and ik chains.
    synonyms: list[str] = Field(default_factory=list)
    bulk_batch_size: int = Field(500, ge=1, le=10000)
    retries: int = Field(3, ge=0, le=10)
    timeout_seconds: float = Field(30.0, gt=0)

    @property
    def password(self) -> str | None:
        return os.environ.get(self.password_env)


class KibanaSettings(_Strict):
    url: str | None = None
    space: str = Field("default", pattern=r"^[a-z0-9_-]+$")
    username: str | None = None  # None: log in as the Elasticsearch user
    password_env: str = "WAGEWATCH_KIBANA_PASSWORD"
    verify_certs: bool = True
    timeout_seconds: float = Field(60.0, gt=0)

    @property
    def password(self) -> str | None:
        return os.environ.get(self.password_env)


Seconds = Annotated[int, Field(gt=0)]


class Intervals(_Strict):
    """Seconds between two runs of each stage. A key left out keeps its default (naming only `crawl` must not
    drop the other stages); `null` turns a stage off explicitly; an unknown (misspelt) stage is an error."""

    crawl: Seconds | None = 900
    analyze: Seconds | None = 60
    cluster: Seconds | None = 60
    index: Seconds | None = 60
    dispatch: Seconds | None = 30
    escalate: Seconds | None = 60
    report: Seconds | None = 3600


class SchedulerSettings(_Strict):
    intervals_seconds: Intervals = Field(default_factory=Intervals)
    misfire_grace_seconds: int = Field(300, ge=1)


SendersPerChannel = Annotated[int, Field(ge=1, le=64)]


class ChannelConcurrency(_Strict):
    """Messages sent at the same time on each channel type (each SMTP sender keeps its own connection)."""

    email: SendersPerChannel = 4
    wecom: SendersPerChannel = 2
    dingtalk: SendersPerChannel = 2
    sms: SendersPerChannel = 4
    webhook: SendersPerChannel = 4
    outbox: SendersPerChannel = 8


class DispatchSettings(_Strict):
    """How the dispatch stage sends: channel types side by side, each with its own limit, and every group robot
    kept under the rate its service accepts (above it, lower alerts are folded into one digest message)."""

    senders: int = Field(16, ge=1, le=256)  # messages in flight at once, all channels together; 1: one by one
    concurrency: ChannelConcurrency = Field(default_factory=ChannelConcurrency)
    robot_messages_per_minute: int = Field(20, ge=1)


class Settings(_Strict):
    database_url: str = "sqlite:///var/wagewatch.db"
    public_base_url: str = "http://localhost:8000"
    outbox_dir: str = "var/outbox"
    reports_dir: str = "var/reports"
    ops_contact: str = "ops@example.org"
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    kibana: KibanaSettings = Field(default_factory=KibanaSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    crawl_timeout_seconds: int = 600
    crawl_concurrency: int = Field(3, ge=1)  # sources crawled at the same time, each in its own process
    webhook_timeout_seconds: float = 10.0
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings)
    analyze_batch_size: int = 256
    model_dir: str | None = None


# ---------------------------------------------------------------- sources.yaml


class SourceConfig(_Strict):
    enabled: bool = True
    spider: str | None = None  # the spider that crawls this source; default: the source's own name
    base_url: str
    queries: list[str] | None = None
    # Combine each keyword with Shandong places for sites whose search is nationwide:
    # none = keywords alone, province = "山东 欠薪", cities = "济南 欠薪", "青岛 欠薪", …
    places: Literal["none", "province", "cities"] = "none"
    max_pages: int = Field(5, ge=1)
    horizon_days: int = Field(7, ge=1)
    # A source that normally yields is silent (沉默) after this many hours, or completed runs in a row,
    # without a new post; unset: learned from the source's own history (docs/crawlers.md).
    silence_hours: int | None = Field(None, ge=1)
    silence_runs: int | None = Field(None, ge=1)
    failure_alert_after: int = Field(3, ge=1)  # consecutive failed runs that raise an ops alert
    block_backoff_minutes: int = Field(120, ge=1)  # first wait after a block; doubles per repeated block
    block_backoff_max_minutes: int = Field(1440, ge=1)
    download_delay: float = Field(1.0, ge=0)
    retry_times: int = Field(3, ge=0)
    retry_backoff_seconds: float = Field(2.0, ge=0)  # wait before the first retry; doubles for each further one
    concurrency_per_domain: int = Field(1, ge=1)
    max_page_bytes: int = Field(5_000_000, ge=10_000)  # larger answers are refused with a warning
    cookie_env: str | None = None
    proxy_env: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    def spider_name(self, source: str) -> str:
        return self.spider or source


class SourcesFile(_Strict):
    keywords: list[str]
    shandong_places: list[str] = Field(default_factory=list)
    user_agents: list[str] = Field(default_factory=list)
    sources: dict[str, SourceConfig]

    @field_validator("keywords")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one keyword is needed")
        return value


# ---------------------------------------------------------------- cities.yaml

ChannelType = Literal["email", "wecom", "dingtalk", "webhook", "sms", "outbox"]
Role = Literal["duty", "deputy", "leader", "publicity", "triage", "ops"]


class Channel(_Strict):
    """One way to reach a person. Robot and gateway URLs and secrets are named by *_env keys."""

    type: ChannelType
    to: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    template: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Channel:
        if self.type in ("email", "sms") and not self.to:
            raise ValueError(f"a {self.type} channel needs 'to' (an address or a phone number)")
        if self.type in ("wecom", "dingtalk", "webhook", "sms") and not self.url_env:
            raise ValueError(f"a {self.type} channel needs 'url_env', the environment variable holding its URL")
        if self.type in ("webhook", "sms") and not self.template:
            raise ValueError(f"a {self.type} channel needs 'template', a name from webhooks.yaml")
        return self

    @property
    def url(self) -> str | None:
        return os.environ.get(self.url_env) if self.url_env else None

    @property
    def secret(self) -> str | None:
        return os.environ.get(self.secret_env) if self.secret_env else None

    def configured(self) -> bool:
        """Whether this deployment can use the channel: robots and gateways need their URL set.

        Email always works: without an SMTP server it lands in the local outbox.
        """
        return self.type in ("email", "outbox") or bool(self.url)


class Rota(_Strict):
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7])
    hours: Window = "00:00-24:00"

    @field_validator("weekdays")
    @classmethod
    def _iso_weekdays(cls, value: list[int]) -> list[int]:
        if not value or any(d < 1 or d > 7 for d in value):
            raise ValueError("weekdays are ISO numbers 1 (Monday) to 7 (Sunday)")
        return value


class Person(_Strict):
    id: str
    name: str
    role: Role
    rota: Rota | None = None
    channels: list[Channel]

    @field_validator("channels")
    @classmethod
    def _some_channel(cls, value: list[Channel]) -> list[Channel]:
        if not value:
            raise ValueError("every person needs at least one channel")
        types = [c.type for c in value]
        if len(set(types)) != len(types):
            # A delivery is unique per (incident, person, channel type, reason); a repeated type could never
            # serve as a fallback.
            raise ValueError(f"each channel type at most once per person, found {types}")
        return value

    @property
    def mobile(self) -> str | None:
        """The person's mobile number (their SMS channel's), which group robots @-mention so the phone rings."""
        return next((c.to for c in self.channels if c.type == "sms" and c.to), None)

    def next_channel(self, after: int = -1) -> int | None:
        """Index of the first configured channel after position `after` (the fallback order), or None."""
        for index in range(after + 1, len(self.channels)):
            if self.channels[index].configured():
                return index
        return None


class Office(_Strict):
    name: str
    people: list[Person]

    def with_role(self, role: str) -> list[Person]:
        return [p for p in self.people if p.role == role]


class CitiesFile(_Strict):
    province: Office
    cities: dict[str, Office]

    @model_validator(mode="after")
    def _all_cities(self) -> CitiesFile:
        unknown = sorted(set(self.cities) - set(SHANDONG_CITIES))
        if unknown:
            raise ValueError(f"unknown city names {unknown}; use the 16 short names such as 济南")
        missing = [c for c in SHANDONG_CITIES if c not in self.cities]
        if missing:
            raise ValueError(f"missing cities {missing}: every Shandong city needs a lead list")
        ids = [p.id for office in [self.province, *self.cities.values()] for p in office.people]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"person ids must be unique, repeated: {dupes}")
        for role in ("triage", "ops"):
            if not self.province.with_role(role):
                raise ValueError(f"the province needs a person with role {role!r}")
        for city, office in self.cities.items():
            if not office.with_role("duty"):
                raise ValueError(f"{city} needs at least one person with role 'duty'")
        return self

    def everyone(self) -> list[tuple[str | None, Person]]:
        """Every person with the city whose lead list they are on (None: the provincial office)."""
        return [(None, p) for p in self.province.people] + [
            (city, p) for city, office in self.cities.items() for p in office.people
        ]

    def city_of(self, person_id: str) -> str | None:
        """The city a person works for, None for the provincial office; KeyError if unknown."""
        for city, person in self.everyone():
            if person.id == person_id:
                return city
        raise KeyError(person_id)

    def person(self, person_id: str) -> Person | None:
        return next((p for _, p in self.everyone() if p.id == person_id), None)


# ---------------------------------------------------------------- policy.yaml


class Deadlines(_Strict):
    government_or_soe_days: int = 3
    backlog_or_complex_days: int = 7
    default_days: int = 7


class Escalation(_Strict):
    """Who hears about a lead nobody acknowledged, and when."""

    ack_minutes: list[Annotated[int, Field(gt=0)]] = Field(default_factory=lambda: [30, 60, 120], min_length=1)
    # Step n of the escalation goes to the people with chain[n] on the lead's list (the last role repeats when
    # ack_minutes has more steps).
    chain: list[Role] = Field(["deputy", "leader", "triage"], min_length=1)
    remind_hours_before_deadline: int = 24
    # An alert at or above this severity not acknowledged within fallback_minutes reaches the same person on
    # their next channel.
    fallback_min_severity: int = Field(3, ge=1, le=4)
    fallback_minutes: int = Field(15, ge=1)

    @field_validator("ack_minutes")
    @classmethod
    def _rising(cls, value: list[int]) -> list[int]:
        if value != sorted(value):
            raise ValueError("ack_minutes must rise: each step comes after the one before")
        return value


class Digest(_Strict):
    # Real incidents at or below this severity wait for the next digest time; 0 turns digests off.
    # At most 2: a severity 3 or 4 alert never waits.
    max_severity: int = Field(1, ge=0, le=2)
    times: list[TimeOfDay] = Field(default_factory=lambda: ["09:00", "16:30"])

    @field_validator("times")
    @classmethod
    def _times(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one digest time is needed")
        return sorted(value)


class QuietHours(_Strict):
    hours: Window | None = "22:00-07:00"
    # Alerts at or below this severity wait for the end of quiet hours; at most 2, so 3-4 are never held.
    max_severity: int = Field(2, ge=0, le=2)


class Realert(_Strict):
    """A new alert for an incident already alerted only when it matters (besides a severity rise or a new city)."""

    reach_factor: float = Field(2.0, gt=1)
    reach_min_increase: int = Field(500, ge=0)


class ReportSchedule(_Strict):
    weekly_weekday: int = Field(1, ge=1, le=7)  # ISO weekday the weekly report (周调度) goes out
    monthly_day: int = Field(1, ge=1, le=28)  # day of month the monthly report (月通报) goes out
    at: TimeOfDay = "09:00"
    city_roles: list[Role] = ["leader", "deputy"]
    province_roles: list[Role] = ["leader", "triage"]
    # The circular (通报) is signed by an office, not by the software; 累计 figures count from campaign_start.
    issuer: str = "山东省根治拖欠农民工工资工作领导小组办公室"
    addressee: str = "各市根治拖欠农民工工资工作领导小组办公室"
    title: str = "关于{period}{where}欠薪网络舆情线索办理情况的通报"  # {period}: 2026年第48周; {where}: 全省
    special_title: str = "关于{where}{event}的专报"  # the one-incident report for a red alert
    campaign_start: date = date(2026, 11, 1)


class Policy(_Strict):
    deadlines: Deadlines = Field(default_factory=Deadlines)
    escalation: Escalation = Field(default_factory=Escalation)
    digest: Digest = Field(default_factory=Digest)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    realert: Realert = Field(default_factory=Realert)
    reports: ReportSchedule = Field(default_factory=ReportSchedule)
    link_valid_hours: int = Field(72, ge=1)
    alert_min_severity: int = Field(1, ge=1, le=4)
    cluster_window_days: int = 14
    cluster_similarity: float = Field(0.5, gt=0, le=1)
    max_send_attempts: int = Field(5, ge=1)
    # How long a worker may take from claiming a message to recording its outcome; only after that is a
    # message still marked `sending` taken for interrupted (its outcome `unknown`).
    send_lease_seconds: int = Field(600, ge=30)
    retry_base_seconds: int = Field(60, ge=1)

    def retry_delay(self, attempts: int) -> timedelta:
        """Exponential backoff after `attempts` failed sends: retry_base_seconds, then twice as long each time."""
        return timedelta(seconds=self.retry_base_seconds * 2 ** max(attempts - 1, 0))

    @model_validator(mode="after")
    def _digest_outside_quiet_hours(self) -> Policy:
        if self.quiet_hours.hours and self.digest.max_severity:
            for t in self.digest.times:
                if timewindow.covers(self.quiet_hours.hours, time.fromisoformat(t)):
                    raise ValueError(f"digest time {t} falls in quiet hours {self.quiet_hours.hours}")
        return self


# ---------------------------------------------------------------- webhooks.yaml


class WebhookTemplate(_Strict):
    """How one HTTP gateway (an SMS provider, a ticket system) wants a message: Jinja2 text rendered with
    the message fields (to, subject, text, short, link, level, colour, severity, incident_id, secret)."""

    method: Literal["POST", "PUT"] = "POST"
    content_type: Literal["json", "form"] = "json"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None  # json: a template that renders to a JSON document (use |tojson for values)
    fields: dict[str, str] = Field(default_factory=dict)  # form: one template per field
    success_field: str | None = None  # dotted path in the JSON reply that says it worked
    success_values: list[str] = Field(default_factory=lambda: ["0"])

    @model_validator(mode="after")
    def _shape(self) -> WebhookTemplate:
        if self.content_type == "json" and not self.body:
            raise ValueError("a json template needs 'body'")
        if self.content_type == "form" and not self.fields:
            raise ValueError("a form template needs 'fields'")
        from jinja2 import Environment, TemplateSyntaxError

        env = Environment()
        for name, text in [("body", self.body or ""), *self.fields.items(), *self.headers.items()]:
            try:
                env.parse(text)
            except TemplateSyntaxError as exc:
                raise ValueError(f"{name}: template error: {exc}") from None
        return self


class WebhooksFile(_Strict):
    templates: dict[str, WebhookTemplate] = Field(default_factory=dict)


# ---------------------------------------------------------------- loading


class AppConfig(_Strict):
    """Everything the service reads from config/, validated."""

    directory: Path
    settings: Settings
    sources: SourcesFile
    cities: CitiesFile
    policy: Policy
    webhooks: WebhooksFile = Field(default_factory=WebhooksFile)


def _format_validation_error(file: Path, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"{file}: key '{key}': {item['msg']}")
    return "\n".join(lines)


# libyaml's safe loader where PyYAML was built with it: the same documents, about twenty times faster than the
# pure-Python one, which spent a quarter of a second of CPU on cities.yaml in every command and crawl process.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(file: Path) -> dict[str, Any]:
    if not file.exists():
        raise ConfigError(f"{file}: file not found (config directory: --config, ${CONFIG_DIR_ENV} or ./config)")
    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot be read: {exc}") from exc
    except (yaml.YAMLError, RecursionError) as exc:  # RecursionError: nesting deeper than any real config
        raise ConfigError(f"{file}: not valid YAML: {exc}") from exc
    if data is None:  # an empty (or truncated) file must not silently mean "all defaults"
        raise ConfigError(f"{file}: the file is empty")
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping at the top level, found {type(data).__name__}")
    return data


def read_model(model: type[ModelT], file: Path) -> ModelT:
    """One YAML file validated against `model`; every error names the file and the key."""
    try:
        return model.model_validate(_load_yaml(file))
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(file, exc)) from exc


def config_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config directory: `explicit`, else $WAGEWATCH_CONFIG_DIR, else ./config of the working directory."""
    return Path(explicit or os.environ.get(CONFIG_DIR_ENV) or Path.cwd() / DEFAULT_CONFIG_DIR)


_ENV_OVERRIDES = (
    ("WAGEWATCH_ES_URL", "elasticsearch", "url"),
    ("WAGEWATCH_ES_USERNAME", "elasticsearch", "username"),
    ("WAGEWATCH_KIBANA_URL", "kibana", "url"),
)


def load_config(directory: str | os.PathLike[str] | None = None) -> AppConfig:
    """Load and validate settings, sources, cities and policy from `directory` (see `config_dir`).

    ``WAGEWATCH_DATABASE_URL`` overrides the database URL so one config serves several deployments.
    """
    root = config_dir(directory)
    settings: Settings = read_model(Settings, root / "settings.yaml")
    if os.environ.get("WAGEWATCH_DATABASE_URL"):
        settings = settings.model_copy(update={"database_url": os.environ["WAGEWATCH_DATABASE_URL"]})
    for variable, section, key in _ENV_OVERRIDES:
        if os.environ.get(variable):
            part = getattr(settings, section).model_copy(update={key: os.environ[variable]})
            settings = settings.model_copy(update={section: part})
    sources: SourcesFile = read_model(SourcesFile, root / "sources.yaml")
    cities: CitiesFile = read_model(CitiesFile, root / "cities.yaml")
    # webhooks.yaml is optional: a deployment without SMS gateways or generic webhooks needs none.
    webhooks = read_model(WebhooksFile, root / "webhooks.yaml") if (root / "webhooks.yaml").exists() else WebhooksFile()
    _check_templates(root / "cities.yaml", cities, webhooks)
    return AppConfig(
        directory=root,
        settings=settings,
        sources=sources,
        cities=cities,
        policy=read_model(Policy, root / "policy.yaml"),
        webhooks=webhooks,
    )


def _check_templates(file: Path, cities: CitiesFile, webhooks: WebhooksFile) -> None:
    """Every webhook/SMS channel must name a template that webhooks.yaml defines."""
    problems = []
    offices = [("province", cities.province)] + [(f"cities.{c}", o) for c, o in cities.cities.items()]
    for prefix, office in offices:
        for i, person in enumerate(office.people):
            for j, channel in enumerate(person.channels):
                if channel.template and channel.template not in webhooks.templates:
                    problems.append(
                        f"{file}: key '{prefix}.people.{i}.channels.{j}.template': unknown template "
                        f"{channel.template!r}; webhooks.yaml defines {sorted(webhooks.templates)}"
                    )
    if problems:
        raise ConfigError("\n".join(problems))
