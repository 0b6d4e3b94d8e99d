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
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

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
from wagewatch.ledger import activity, tokens
from wagewatch.ledger.actions import (
    KINDS,
    NEXT,
    OPEN,
    PROVINCE,
    STATUSES,
    VERDICTS,
    Ledger,
    LedgerError,
    Officer,
    StatusUpdate,
)
from wagewatch.ledger.amounts import AmountError, format_yuan, parse_yuan
from wagewatch.web import console

TEMPLATES = Path(__file__).resolve().parent / "templates"
COOKIE = "wagewatch_token"
MESSAGES = {"ack": LeadStatus.ACKNOWLEDGED.caption, "saved": "已保存"}
OTHER = "其他"  # the transfer form's choice for a destination outside the ledger (another province, a department)


class Denied(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _environment() -> Environment:
    env = template_environment(TEMPLATES)
    env.filters["yuan"] = format_yuan
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
    def list_leads(request: Request, status: str = "open", moved: int | None = None) -> HTMLResponse:
        with db.session() as session:
            officer, _ = officer_for(session, request.cookies.get(COOKIE))
            query = select(Lead, Incident).join(Incident, Incident.id == Lead.incident_id)
            if officer.city is not None:
                query = query.where(Lead.city == officer.city)
            if status == "open":
                query = query.where(Lead.status.in_(OPEN))
            rows = session.execute(query.order_by(Lead.overdue.desc(), Lead.deadline).limit(500)).all()
            away = transferred_away(session, officer)
            flash = next((f"线索编号{i.id}已转办至{lead.transferred_to}" for lead, i in away if lead.id == moved), None)
            return page(
                request,
                "leads.html",
                officer=officer,
                rows=rows,
                away=away,
                status=status,
                message=flash,
                now=clock.now(),
                levels=LEVELS,
                colours=COLOURS,
                province=PROVINCE,
            )

    def transferred_away(session: Session, officer: Officer) -> list[tuple[Lead, Incident]]:
        """Leads this officer's city transferred to another city or the province: listed with their
        destination, so a transfer never makes a lead vanish from the office that sent it."""
        if officer.city is None:
            return []
        ids = {
            event.entity_id
            for event in session.scalars(
                select(AuditEvent).where(AuditEvent.entity == "lead", AuditEvent.action == "transferred")
            )
            if (event.detail or {}).get("from") == officer.city
        }
        if not ids:
            return []
        return session.execute(
            select(Lead, Incident)
            .join(Incident, Incident.id == Lead.incident_id)
            .where(Lead.id.in_(ids), Lead.city.is_distinct_from(officer.city))
            .order_by(desc(Lead.updated_at))
        ).all()

    @app.get("/leads/{lead_id}", response_class=HTMLResponse)
    def show_lead(request: Request, lead_id: int, msg: str | None = None) -> HTMLResponse:
        with db.session() as session:
            officer, _ = officer_for(session, request.cookies.get(COOKIE))
            lead = visible_lead(session, officer, lead_id)
            message = MESSAGES.get(msg or "")
            if msg == "transferred" and lead.transferred_to:
                message = f"已转办至{lead.transferred_to}"
            return _lead_page(request, session, officer, lead, message=message)

    def _lead_page(
        request: Request,
        session: Session,
        officer: Officer,
        lead: Lead,
        message: str | None = None,
        error: str | None = None,
        code: int = 200,
        form: dict[str, str] | None = None,
        confirm: dict[str, str] | None = None,
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
        return page(
            request,
            "lead.html",
            code=code,
            officer=officer,
            lead=lead,
            incident=incident,
            posts=posts,
            entries=[activity.describe(event, name_of) for event in trail],
            level=level,
            colour=colour,
            colour_hex=COLOURS[colour],
            message=message,
            error=error,
            form=form or {},
            confirm=confirm,
            owner=name_of(lead.officer_id),
            next_statuses=NEXT.get(lead.status, ()),
            verdicts=VERDICTS,
            kinds=KINDS,
            now=clock.now(),
            province=PROVINCE,
            other=OTHER,
            cities=[c for c in config.cities.cities if c != lead.city],
        )

    def name_of(person_id: str) -> str:
        person = config.cities.person(person_id)
        return person.name if person else person_id

    def _act(request: Request, lead_id: int, change, done, form: dict[str, str] | None = None) -> Response:
        """Run one ledger change for the signed-in officer; on refusal show the page with the reason and
        everything the officer typed, so nothing has to be typed twice."""
        same_origin(request)
        with db.session() as session:
            officer, _ = officer_for(session, request.cookies.get(COOKIE))
            lead = visible_lead(session, officer, lead_id)
            try:
                change(session, officer, lead)  # validates before it changes anything
            except LedgerError as exc:
                return _lead_page(request, session, officer, lead, error=str(exc), code=400, form=form)
            visible = officer.can_see(lead)
        target = f"/leads/{lead_id}?msg={done}" if visible else f"/leads?moved={lead_id}"
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
            try:
                amount = parse_yuan(amount_recovered, "追回金额")
            except AmountError as exc:
                raise LedgerError(str(exc)) from None
            ledger.update(
                session,
                lead,
                officer,
                StatusUpdate(
                    status=status,
                    notes=notes,
                    amount_recovered=amount,
                    workers_paid=_count(workers_paid, "支付人数"),
                    verdict=verdict or None,
                    kind=kind or None,
                ),
            )

        typed = dict(
            status=status,
            notes=notes,
            amount_recovered=amount_recovered,
            workers_paid=workers_paid,
            verdict=verdict,
            kind=kind,
        )
        return _act(request, lead_id, change, "saved", form=typed)

    @app.post("/leads/{lead_id}/transfer")
    def transfer(
        request: Request,
        lead_id: int,
        to: str = Form(""),
        other: str = Form(""),
        note: str = Form(""),
        confirmed: str = Form(""),
    ) -> Response:
        """Two steps: the first post checks the destination and asks the officer to confirm it; only the
        confirming post (which carries the same fields) transfers the lead."""
        destination = other.strip() if to == OTHER or (not to and other.strip()) else to
        typed = dict(to=to, other=other, note=note)
        if confirmed != "yes":
            same_origin(request)
            with db.session() as session:
                officer, _ = officer_for(session, request.cookies.get(COOKIE))
                lead = visible_lead(session, officer, lead_id)
                try:
                    destination = ledger.check_transfer(lead, officer, destination)
                except LedgerError as exc:
                    return _lead_page(request, session, officer, lead, error=str(exc), code=400, form=typed)
                local = ledger.is_local(destination)
                return _lead_page(
                    request,
                    session,
                    officer,
                    lead,
                    form=typed,
                    confirm=dict(
                        to=destination,
                        effect=(
                            f"线索将移交{destination}，由其值班人员重新签收办理，本地市不再负责。"
                            if local
                            else f"线索将以“已转办”办结，记录去向“{destination}”，不再在山东省内跟踪。"
                        ),
                    ),
                )
        return _act(
            request,
            lead_id,
            lambda s, o, lead: ledger.transfer(s, lead, o, destination, note),
            "transferred",
            form=typed,
        )

    def province_officer(session: Session, request: Request) -> Officer:
        officer, _ = officer_for(session, request.cookies.get(COOKIE))
        if officer.city is not None:
            raise Denied(403, "全省研判调度台仅限省欠薪办使用。")
        return officer

    def console_page(request: Request, session: Session, officer: Officer, filters: console.Filters, **extra):
        rows = console.load(session, clock.now())
        current = console.view(rows, filters)
        return page(
            request,
            "console.html",
            code=extra.pop("code", 200),
            officer=officer,
            filters=filters,
            view=current,
            facets=console.FACETS,
            caption=console.caption,
            sorts={k: v[0] for k, v in console.SORTS.items()},
            described=console.describe(filters),
            review_waiting=sum(r.incident.needs_review and r.lead.status in OPEN for r in rows),
            statuses=STATUSES,
            cities=list(config.cities.cities),
            people=[(city or PROVINCE, p) for city, p in config.cities.everyone()],
            province=PROVINCE,
            other=OTHER,
            now=clock.now(),
            name_of=name_of,
            colours=COLOURS,
            **({"confirm": None, "result": None, "error": None} | extra),
        )

    @app.get("/console", response_class=HTMLResponse)
    def province_console(request: Request) -> HTMLResponse:
        with db.session() as session:
            officer = province_officer(session, request)
            return console_page(
                request, session, officer, console.Filters.from_query(request.query_params.multi_items())
            )

    @app.get("/console/export.xlsx")
    def export(request: Request) -> Response:
        filters = console.Filters.from_query(request.query_params.multi_items())
        with db.session() as session:
            province_officer(session, request)
            rows = console.view(console.load(session, clock.now()), filters).rows
            body = console.export_xlsx(rows, console.describe(filters), name_of)
        stamp = clock.local(clock.now()).strftime("%Y%m%d-%H%M")
        return Response(
            body,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={
                "Content-Disposition": f"attachment; filename=leads-{stamp}.xlsx; filename*=UTF-8''"
                + quote(f"线索清单-{stamp}.xlsx"),
                "Cache-Control": "no-store",
            },
        )

    @app.post("/console/bulk", response_class=HTMLResponse)
    async def bulk(request: Request) -> HTMLResponse:
        """Bulk transfer or assign: the first post shows the chosen leads and the action for confirmation, the
        confirming post applies it lead by lead; a lead the ledger refuses is reported, the others go ahead."""
        same_origin(request)
        form = await request.form()
        ids = sorted({int(v) for v in form.getlist("ids") if str(v).isdigit()})
        choice = dict(
            action=str(form.get("action", "")),
            to=str(form.get("to", "")),
            other=str(form.get("other", "")).strip(),
            person=str(form.get("person", "")),
            note=str(form.get("note", "")),
            back=str(form.get("back", "")),
        )
        filters = console.Filters.from_query(parse_qsl(choice["back"]))
        return await run_in_threadpool(apply_bulk, request, ids, choice, filters, form.get("confirmed") == "yes")

    def apply_bulk(request: Request, ids: list[int], choice: dict, filters: console.Filters, confirmed: bool):
        with db.session() as session:
            officer = province_officer(session, request)
            destination = choice["other"] if choice["to"] == OTHER else choice["to"]
            if not ids:
                return console_page(request, session, officer, filters, error="请先勾选要处理的线索。", code=400)
            if choice["action"] == "transfer" and not destination:
                return console_page(request, session, officer, filters, error="请选择转办去向。", code=400)
            if choice["action"] == "assign" and config.cities.person(choice["person"]) is None:
                return console_page(request, session, officer, filters, error="请选择指派的责任人。", code=400)
            if choice["action"] not in ("transfer", "assign"):
                return console_page(request, session, officer, filters, error="请选择批量操作。", code=400)
            leads = session.execute(
                select(Lead, Incident).join(Incident, Incident.id == Lead.incident_id).where(Lead.id.in_(ids))
            ).all()
            what = f"转办至{destination}" if choice["action"] == "transfer" else f"指派给{name_of(choice['person'])}"
            if not confirmed:
                return console_page(
                    request, session, officer, filters, confirm=dict(choice, ids=ids, leads=leads, what=what)
                )
            done, refused = 0, []
            for lead, incident in leads:
                try:  # the ledger checks before it changes anything: a refused lead leaves nothing half-done
                    if choice["action"] == "transfer":
                        ledger.transfer(session, lead, officer, destination, choice["note"])
                    else:
                        ledger.assign(session, lead, officer, choice["person"])
                    done += 1
                except LedgerError as exc:
                    refused.append(f"线索编号{incident.id}：{exc}")
            session.flush()
            result = dict(
                text=f"已{what}{done}条" + (f"，{len(refused)}条未处理" if refused else "。"), refused=refused
            )
            return console_page(request, session, officer, filters, result=result)

    return app


def _count(text: str, label: str) -> int | None:
    text = (text or "").strip().replace(",", "").removesuffix("人")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise LedgerError(f"{label}应为数字（整数）：{text[:20]}") from None
