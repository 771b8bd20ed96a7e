"""Who administers the bot (owners from PSGBOT_ADMINS, editors added in chat) and the audit log."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from psgbot.db.engine import dialect_insert
from psgbot.db.enums import AuditAction as AuditAction
from psgbot.db.enums import Role as Role
from psgbot.db.models import Admin, AuditEntry
from psgbot.db.types import utcnow

log = logging.getLogger(__name__)


def allows(held: Role | None, required: Role) -> bool:
    """Owners may do everything editors may, and manage admins besides."""
    if held is None:
        return False
    return held == Role.OWNER or required == Role.EDITOR


async def sync_owners(session: AsyncSession, owner_ids: Sequence[int]) -> None:
    """Makes the database's owners exactly PSGBOT_ADMINS (the setting is the authority)."""
    await session.execute(
        delete(Admin).where(Admin.role == Role.OWNER, Admin.user_id.not_in(list(owner_ids)))
    )
    for user_id in owner_ids:
        await session.execute(
            dialect_insert(session)(Admin)
            .values(user_id=user_id, role=Role.OWNER, created_at=utcnow())
            .on_conflict_do_update(index_elements=["user_id"], set_={"role": Role.OWNER})
        )


async def role_of(session: AsyncSession, user_id: int) -> Role | None:
    role = await session.scalar(select(Admin.role).where(Admin.user_id == user_id))
    return Role(role) if role else None


async def all_admins(session: AsyncSession) -> list[Admin]:
    return list(await session.scalars(select(Admin).order_by(Admin.role.desc(), Admin.user_id)))


async def add_editor(session: AsyncSession, user_id: int, added_by: int) -> bool:
    """Adds an editor; False when the user is already an admin (owners stay owners)."""
    if await session.get(Admin, user_id) is not None:
        return False
    session.add(Admin(user_id=user_id, role=Role.EDITOR, added_by=added_by))
    return True


async def remove_editor(session: AsyncSession, user_id: int) -> bool:
    """Removes an editor; owners can only be removed from PSGBOT_ADMINS."""
    result = await session.execute(
        delete(Admin).where(Admin.user_id == user_id, Admin.role == Role.EDITOR)
    )
    return bool(getattr(result, "rowcount", 0))


async def audit(
    session: AsyncSession, user_id: int | None, action: AuditAction, detail: str = ""
) -> None:
    """Records an admin's action (``user_id`` None: the bot's own)."""
    session.add(AuditEntry(at=utcnow(), user_id=user_id, action=action, detail=detail[:2000]))
    log.info("audit: user %s %s %s", user_id, action.value, detail[:200])


async def latest_audit(session: AsyncSession, limit: int = 20) -> list[AuditEntry]:
    return list(
        await session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
    )
