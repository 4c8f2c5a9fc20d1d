"""Sessions in the database that the database alone cannot hand over.

Django's database sessions keep the cookie's value as the row's key, and sign a row's data
without naming its key. Someone who holds only the database password (a DBA) could then
read an approver's live ``django_session.session_key`` and send it as their own cookie, or
copy the approver's ``session_data`` into the row of a session of their own: they would be
the approver, step-up window included, with neither the approver's password nor a change to
any sealed account.

So the row's key is a keyed digest of the cookie's value (``SECRET_KEY``, which stays out of
the database's reach as ``AUDIT_HMAC_KEY`` does), and the data is signed for that one cookie.
A row read from the table is no cookie, and its data is worthless under any other key.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.utils.crypto import salted_hmac

_SALT = "vonoportal.accounts.sessions.row"


def row_key(cookie: str) -> str:
    """The stored key of the session whose cookie is ``cookie`` (40 characters, the column's
    width: 160 bits of HMAC-SHA256)."""
    return salted_hmac(_SALT, cookie, algorithm="sha256").hexdigest()[:40]


class SessionStore(db.SessionStore):
    @property
    def key_salt(self) -> str:
        # The data is signed for this cookie: copied into another row, it does not decode.
        return f"{super().key_salt}:{self._session_key or ''}"

    def _get_session_from_db(self) -> Any:
        if self.session_key is None:
            return None
        try:
            return self.model.objects.get(
                session_key=row_key(self.session_key), expire_date__gt=_now()
            )
        except self.model.DoesNotExist:
            self._session_key = None
            return None

    async def _aget_session_from_db(self) -> Any:
        if self.session_key is None:
            return None
        try:
            return await self.model.objects.aget(
                session_key=row_key(self.session_key), expire_date__gt=_now()
            )
        except self.model.DoesNotExist:
            self._session_key = None
            return None

    def exists(self, session_key: str) -> bool:
        return bool(self.model.objects.filter(session_key=row_key(session_key)).exists())

    async def aexists(self, session_key: str) -> bool:
        return bool(await self.model.objects.filter(session_key=row_key(session_key)).aexists())

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        return self.model(
            session_key=row_key(self._get_or_create_session_key()),  # type: ignore[attr-defined]
            session_data=self.encode(data),
            expire_date=self.get_expiry_date(),
        )

    async def acreate_model_instance(self, data: dict[str, Any]) -> Any:
        return self.model(
            session_key=row_key(await self._aget_or_create_session_key()),  # type: ignore[attr-defined]
            session_data=self.encode(data),
            expire_date=await self.aget_expiry_date(),
        )

    def delete(self, session_key: str | None = None) -> None:
        key = session_key if session_key is not None else self.session_key
        if key is not None:
            self.model.objects.filter(session_key=row_key(key)).delete()

    async def adelete(self, session_key: str | None = None) -> None:
        key = session_key if session_key is not None else self.session_key
        if key is not None:
            await self.model.objects.filter(session_key=row_key(key)).adelete()


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()
