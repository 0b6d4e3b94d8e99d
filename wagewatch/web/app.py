"""FastAPI app for officers: see a lead with its incident and posts, acknowledge, update, transfer.

Access: the alert link carries a per-officer token (stored hashed, expiring). The first visit moves it into
an HttpOnly cookie and redirects to the clean URL, so the token leaves the address bar and browser history.
The cookie is SameSite=Lax and every form POST must come from this site's own origin, so another site
cannot make an officer's browser change a lead. An officer sees and changes only their own city's leads;
the provincial office sees all. Every change is written to the audit trail by wagewatch.ledger.actions.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment
from sqlalchemy import desc, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from wagewatch.alerts.render import COLOURS, LEVELS, template_environment
from wagewatch.core import clock
from wagewatch.core.config import AppConfig
from wagewatch.core.states import LeadStatus
from wagewatch.core.store import Database
from wagewatch.core.store.models import Analysis, AuditEvent, Incident, Lead, Post
from wagewatch.ledger import tokens
from wagewatch.ledger.actions import KINDS, NEXT, OPEN, PROVINCE, VERDICTS, Ledger, LedgerError, Officer, StatusUpdate

TEMPLATES = Path(__file__).resolve().parent / "templates"
COOKIE = "wagewatch_token"
SYSTEM_ACTORS = {"system:dispatch": "系统（推送）", "system:escalate": "系统（督办）"}
MESSAGES = {"ack": LeadStatus.ACKNOWLEDGED.caption, "saved": "已保存", "transferred": LeadStatus.TRANSFERRED.caption}
ACTIONS = {
    "created": "生成线索",
    "acknowledged": "签收",
    "updated": "更新",
    "transferred": "转办",
    "escalated": "升级提醒",
    "overdue": "标记逾期",
}


class Denied(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _environment() -> Environment:
    env = template_environment(TEMPLATES)
    env.globals.update(LeadStatus=LeadStatus, LEAD_OPEN=OPEN)
    return env


def create_app(config: AppConfig, db: Database) -> FastAPI:
    """The officer web app over `db`, with access rules from `config`'s lead lists."""
    app = FastAPI(title="欠薪舆情哨兵", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(env=_environment())
    ledger = Ledger(db, config)
    secure_cookie = config.settings.public_base_url.startswith("https://")

    def page(request: Request, name: str, code: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            name,
            context,
            status_code=code,
            headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"},
        )

    def officer_for(session: Session, token: str | None) -> tuple[Officer, datetime]:
        record = tokens.resolve(session, token or "", clock.now())
        person = config.cities.person(record.person_id) if record else None
        if record is None or person is None:
            raise Denied(401, "链接无效或已过期，请使用最新预警消息中的链接。")
        return Officer(person.id, person.name, config.cities.city_of(person.id)), record.expires_at

    @app.exception_handler(Denied)
    async def denied(request: Request, exc: Denied) -> HTMLResponse:
        return page(request, "error.html", code=exc.status, message=exc.message, officer=None)

    def check_token(token: str) -> datetime:
        with db.session() as session:
            return officer_for(session, token)[1]

    @app.middleware("http")
    async def token_to_cookie(request: Request, call_next):
        """?t=<token> → cookie, then the same URL without it."""
        token = request.query_params.get("t")
        if request.method != "GET" or not token:
            return await call_next(request)
        try:
            expires = await run_in_threadpool(check_token, token)  # the store is synchronous
        except Denied as exc:
            return page(request, "error.html", code=exc.status, message=exc.message, officer=None)
        query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "t"])
        response = RedirectResponse(request.url.path + (f"?{query}" if query else ""), status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=max(int((expires - clock.now()).total_seconds()), 1),
            httponly=True,
            samesite="lax",
            secure=secure_cookie,
            path="/",
        )
        return response

    def same_origin(request: Request) -> None:
        origin = request.headers.get("origin") or request.headers.get("referer")
        if origin and urlsplit(origin).netloc != request.headers.get("host"):
            raise Denied(403, "请求来源不正确，请在本系统页面内操作。")

    def visible_lead(session: Session, officer: Officer, lead_id: int) -> Lead:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise Denied(404, "线索不存在。")
        if not officer.can_see(lead):
            raise Denied(403, "无权访问：该线索不属于您所在的地市。")
        return lead

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/leads", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict:
        return {"ok": True}

    @app.get("/leads", response_class=HTMLResponse)
    def list_leads(request: Request, status: str = "open") -> HTMLResponse:
        with db.session() as session:
            officer, _ = officer_for(session, request.cookies.get(COOKIE))
            query = select(Lead, Incident).join(Incident, Incident.id == Lead.incident_id)
            if officer.city is not None:
                query = query.where(Lead.city == officer.city)
            if status == "open":
                query = query.where(Lead.status.in_(OPEN))
            rows = session.execute(query.order_by(Lead.overdue.desc(), Lead.deadline).limit(500)).all()
            return page(
                request,
                "leads.html",
                officer=officer,
                rows=rows,
                status=status,
                now=clock.now(),
                levels=LEVELS,
                colours=COLOURS,
                province=PROVINCE,
            )

    @app.get("/leads/{lead_id}", response_class=HTMLResponse)
    def show_lead(request: Request, lead_id: int, msg: str | None = None) -> HTMLResponse:
        with db.session() as session:
            officer, _ = officer_for(session, request.cookies.get(COOKIE))
            return _lead_page(
                request, session, officer, visible_lead(session, officer, lead_id), message=MESSAGES.get(msg or "")
            )

    def _lead_page(
        request: Request,
        session: Session,
        officer: Officer,
        lead: Lead,
        message: str | None = None,
        error: str | None = None,
        code: int = 200,
    ) -> HTMLResponse:
        incident = session.get(Incident, lead.incident_id)
        posts = session.scalars(
            select(Post)
            .join(Analysis, Analysis.post_id == Post.id)
            .where(Analysis.incident_id == incident.id)
            .order_by(Post.published_at)
        ).all()
        trail = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "lead", AuditEvent.entity_id == lead.id)
            .order_by(desc(AuditEvent.at), desc(AuditEvent.id))
        ).all()
        level, colour = LEVELS.get(incident.severity or 0, ("—", "蓝色"))
        owner = config.cities.person(lead.officer_id)
        return page(
            request,
            "lead.html",
            code=code,
            officer=officer,
            lead=lead,
            incident=incident,
            posts=posts,
            trail=trail,
            level=level,
            colour=colour,
            colour_hex=COLOURS[colour],
            message=message,
            error=error,
            owner=owner.name if owner else lead.officer_id,
            next_statuses=NEXT.get(lead.status, ()),
            verdicts=VERDICTS,
            kinds=KINDS,
            actions_text=ACTIONS,
            now=clock.now(),
            province=PROVINCE,
            cities=[c for c in config.cities.cities if c != lead.city],
            actor_name=_actor_name,
        )

    def _actor_name(actor: str) -> str:
        person = config.cities.person(actor.split(":", 1)[1]) if actor.startswith("officer:") else None
        return person.name if person else SYSTEM_ACTORS.get(actor, actor)

    def _act(request: Request, lead_id: int, change, done: str) -> Response:
        """Run one ledger change for the signed-in officer; on refusal show the page with the reason."""
        same_origin(request)
        with db.session() as session:
            officer, _ = officer_for(session, request.cookies.get(COOKIE))
            lead = visible_lead(session, officer, lead_id)
            try:
                change(session, officer, lead)  # validates before it changes anything
            except LedgerError as exc:
                return _lead_page(request, session, officer, session.get(Lead, lead_id), error=str(exc), code=400)
            visible = officer.can_see(lead)
        target = f"/leads/{lead_id}?msg={done}" if visible else "/leads"
        return RedirectResponse(target, status_code=303)

    @app.post("/leads/{lead_id}/ack")
    def acknowledge(request: Request, lead_id: int) -> Response:
        return _act(request, lead_id, lambda s, o, lead: ledger.acknowledge(s, lead, o), "ack")

    @app.post("/leads/{lead_id}/update")
    def update(
        request: Request,
        lead_id: int,
        status: str = Form(...),
        notes: str = Form(""),
        amount_recovered: str = Form(""),
        workers_paid: str = Form(""),
        verdict: str = Form(""),
        kind: str = Form(""),
    ) -> Response:
        def change(session: Session, officer: Officer, lead: Lead) -> None:
            ledger.update(
                session,
                lead,
                officer,
                StatusUpdate(
                    status=status,
                    notes=notes,
                    amount_recovered=_number(amount_recovered, float, "追回金额"),
                    workers_paid=_number(workers_paid, int, "支付人数"),
                    verdict=verdict or None,
                    kind=kind or None,
                ),
            )

        return _act(request, lead_id, change, "saved")

    @app.post("/leads/{lead_id}/transfer")
    def transfer(
        request: Request, lead_id: int, to: str = Form(...), other: str = Form(""), note: str = Form("")
    ) -> Response:
        destination = other.strip() if to == "其他" else to
        return _act(request, lead_id, lambda s, o, lead: ledger.transfer(s, lead, o, destination, note), "transferred")

    return app


def _number(text: str, kind: type, label: str):
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise LedgerError(f"{label}应为数字：{text[:20]}") from None
