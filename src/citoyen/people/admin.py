"""Administration: finding people, roles and suspension (both end the person's sessions and are
logged), and departments."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import N_, localized
from citoyen.people.access_log import log_access
from citoyen.people.accounts import normalize_email
from citoyen.people.errors import PeopleError
from citoyen.people.models import Department, Person, Role
from citoyen.people.sessions import end_all_sessions


async def search_people(
    session: AsyncSession, text: str = "", role: Role | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[Person], int]:
    query = select(Person)
    if text:
        pattern = f"%{text.strip().lower()}%"
        query = query.where(or_(func.lower(Person.display_name).like(pattern), Person.email == text.strip().lower()))
    if role is not None:
        query = query.where(Person.role == role)
    total = int((await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one())
    rows = await session.execute(query.order_by(Person.id).offset((page - 1) * per_page).limit(per_page))
    return list(rows.scalars()), total


async def set_role(session: AsyncSession, actor: Person, person: Person, role: Role, department_id: int | None) -> None:
    if role == Role.STAFF and department_id is None:
        raise PeopleError(N_("Staff members belong to a department: choose one."))
    if department_id is not None and await session.get(Department, department_id) is None:
        raise PeopleError(N_("Unknown department."))
    if person.id == actor.id and role != Role.ADMIN:
        raise PeopleError(N_("You cannot remove your own administrator role."))
    if person.role != role:
        # What the sessions opened under the old role may do changes: the person logs in again.
        await end_all_sessions(session, person.id)
    person.role = role
    person.department_id = department_id if role in (Role.STAFF, Role.ADMIN) else None
    await log_access(session, actor, person.id, "role_changed", f"{role.value}")
    await session.flush()


async def set_active(session: AsyncSession, actor: Person, person: Person, active: bool) -> None:
    """Suspend or restore an account: a suspended person cannot log in and is signed out everywhere."""
    if person.id == actor.id:
        raise PeopleError(N_("You cannot suspend your own account."))
    person.is_active = active
    if not active:
        await end_all_sessions(session, person.id)
    await log_access(session, actor, person.id, "account_restored" if active else "account_suspended")
    await session.flush()


async def list_departments(session: AsyncSession) -> list[Department]:
    return list((await session.execute(select(Department).order_by(Department.name))).scalars())


async def department_names(session: AsyncSession, locale: str = "fr") -> dict[int, str]:
    """Each department's name by id in the reader's language (one query), for domains that show who handles
    what."""
    rows = (await session.execute(select(Department.id, Department.name, Department.name_en))).all()
    return {int(department_id): localized(locale, name, name_en) for department_id, name, name_en in rows}


async def create_department(
    session: AsyncSession, code: str, name: str, email: str | None = None, name_en: str = ""
) -> Department:
    """A department: its French name, and its English one for English pages (empty: the French one)."""
    code = code.strip().lower()
    if not code or not name.strip():
        raise PeopleError(N_("A department needs a code and a name."))
    if not code.replace("-", "").replace("_", "").isalnum() or len(code) > 40:
        raise PeopleError(N_("The code may only contain letters, digits, '-' and '_' (at most 40)."))
    if (await session.execute(select(Department).where(Department.code == code))).first() is not None:
        raise PeopleError(N_("A department with this code already exists."))
    department = Department(
        code=code, name=name.strip(), name_en=name_en.strip(), email=normalize_email(email) if email else None
    )
    session.add(department)
    await session.flush()
    return department


async def delete_department(session: AsyncSession, department_id: int) -> None:
    department = await session.get(Department, department_id)
    if department is None:
        raise PeopleError(N_("Unknown department."))
    await session.delete(department)
    await session.flush()
