"""The account seal: who may sign in, and with what reach, is what the app wrote.

Deletions take two people, and the audit log proves each approval with a key the database
never holds. Someone who holds only the database password (a DBA) could still act alone by
editing accounts: overwrite an approver's password hash with one they know, insert a user,
add a row to ``recordings_user_groups`` or ``recordings_user_user_permissions``, set
``is_superuser``, reactivate a user, widen a ``customer_id`` or ``extensions`` scope.

So every user row carries a seal: HMAC-SHA256, keyed from the audit chain's key
(``AUDIT_HMAC_KEY``, outside the database), over the account's security-relevant state
(``canonical_text``). It is stored as ``key id:hex`` so keys rotate: a seal made with a
retired key (``AUDIT_HMAC_OLD_KEYS``) still verifies, and each reseal uses the current key.
A missing, empty or wrong seal is invalid, and then (``SealedModelBackend``) the user cannot
sign in, a signed-in session loses the user on its next request, and the user holds no
permission at all. Only the app's own code reseals (signals on the User model and its
groups and permissions, and ``reseal``), and only an account whose stored seal still
verifies: a forged state is refused, never blessed by the next unrelated save. Signals
rather than the services: every way the app writes these fields (accounts.services,
createsuperuser, changepassword, seed_demo, a test's create_user) goes through ``save`` or
the m2m managers, and nobody who holds only the database runs any of them.

A reseal seals the state the app meant to write (the saved object's fields, the groups and
permissions verified before, plus or minus what the app added or removed), and only if the
row as stored is exactly that: a DBA's trigger that rewrites the row within the app's own
statement, or a write that lands between the check and the reseal, is refused, not sealed.

What it does not stop: putting back an earlier state of the same account together with its
then seal (the audit log's ``user_changed`` events tell the history), and editing a
group's own permissions (``auth_group_permissions``), which no user's seal covers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.http import HttpRequest

from accounts import roles
from audit import chain

logger = logging.getLogger(__name__)

# The User fields the seal covers; a save that writes none of them needs no new seal.
SEALED_FIELDS = frozenset(
    {
        "username",
        "password",
        "is_active",
        "is_superuser",
        "is_staff",
        "customer_id",
        "extensions",
        # Whether someone else set the password: a privileged role waits until it is false.
        "must_change_password",
    }
)
_CONTEXT = b"vonoportal account seal v1"


class TamperedAccount(Exception):
    """The app was asked to change an account whose stored seal does not verify."""


# --- the seal itself -------------------------------------------------------------------------


def canonical_text(
    fields: dict[str, Any], groups: Iterable[str], permissions: Iterable[str]
) -> str:
    """The sealed state, in a fixed JSON form: the account's fields, the names of its groups
    and its direct permissions (``app_label.codename``), both sorted."""
    content = {name: fields[name] for name in SEALED_FIELDS}
    content["pk"] = fields["pk"]
    content["groups"] = sorted(groups)
    content["permissions"] = sorted(permissions)
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _mac(key: bytes, text: str) -> str:
    derived = hmac.new(key, _CONTEXT, hashlib.sha256).digest()  # never the audit MAC's key
    return hmac.new(derived, text.encode(), hashlib.sha256).hexdigest()


def make(text: str) -> str:
    """A seal of ``text`` with the current key: ``key id:hex``."""
    key_id = chain.current_key_id()
    key = chain.key(key_id)
    if key is None:  # never: the current key is always held
        raise chain.UnknownKey(key_id)
    return f"{key_id}:{_mac(key, text)}"


def verifies(seal: str | None, text: str) -> bool:
    """Whether ``seal`` seals ``text`` with a key this server holds (current or retired)."""
    key_id, sep, mac = (seal or "").rpartition(":")
    key = chain.key(key_id) if sep else None
    if key is None or not mac:
        return False
    return hmac.compare_digest(_mac(key, text), mac)


# --- the state as stored ---------------------------------------------------------------------


def _related(user_model: Any, pk: Any) -> tuple[list[str], list[str]]:
    """The names of the user's groups and their direct permissions, from the database.

    Through the m2m tables, so that a migration's historical model works the same."""
    groups = user_model.groups.through._base_manager.filter(user_id=pk)
    permissions = user_model.user_permissions.through._base_manager.filter(user_id=pk)
    names = [str(n) for n in groups.values_list("group__name", flat=True)]
    perms = permissions.values_list("permission__content_type__app_label", "permission__codename")
    return names, [f"{app}.{codename}" for app, codename in perms]


def _stored(user_model: Any, pk: Any) -> tuple[str, str] | None:
    """The stored seal and the canonical text of the stored state; None if there is no row."""
    row = (
        user_model._base_manager.filter(pk=pk).values("pk", "seal", *sorted(SEALED_FIELDS)).first()
    )
    if row is None:
        return None
    groups, permissions = _related(user_model, pk)
    return str(row["seal"] or ""), canonical_text(row, groups, permissions)


def stored_is_valid(user_model: Any, pk: Any) -> bool:
    """Whether the row of ``pk`` as stored now carries a valid seal (no row: False)."""
    stored = _stored(user_model, pk)
    return stored is not None and verifies(*stored)


def reseal(user_model: Any, pk: Any) -> str | None:
    """Seal the row of ``pk`` as stored now, with the current key; the new seal (no row:
    None). A deliberate re-blessing of whatever is stored (``reseal_all``): the app's own
    changes go through ``_seal_expected`` instead."""
    stored = _stored(user_model, pk)
    if stored is None:
        return None
    new = make(stored[1])
    user_model._base_manager.filter(pk=pk).update(seal=new)
    return new


def reseal_all(user_model: Any) -> int:
    """Seal every user as stored now (the data migration; a deliberate re-blessing)."""
    count = 0
    for pk in user_model._base_manager.values_list("pk", flat=True):
        reseal(user_model, pk)
        count += 1
    return count


def audit_seals(user_model: Any, *, rekey: bool = False) -> tuple[list[str], int]:
    """The usernames whose stored seal does not verify, and (``rekey``) how many valid seals
    made with a retired key were remade with the current one, so that key can be dropped."""
    invalid: list[str] = []
    rekeyed = 0
    current = f"{chain.current_key_id()}:"
    for pk, username in user_model._base_manager.order_by("pk").values_list("pk", "username"):
        stored = _stored(user_model, pk)
        if stored is None:
            continue
        if not verifies(*stored):
            invalid.append(str(username))
        elif rekey and not stored[0].startswith(current):
            user_model._base_manager.filter(pk=pk, seal=stored[0]).update(seal=make(stored[1]))
            rekeyed += 1
    return invalid, rekeyed


def is_valid(user: Any) -> bool:
    """Whether this user object, as loaded, is a state the app sealed. Remembered on the
    object (as Django remembers its permissions); a refusal is logged once per object."""
    cached = getattr(user, "_seal_valid", None)
    if cached is not None:
        return bool(cached)
    if user.pk is None:
        return False
    fields = {name: getattr(user, name) for name in SEALED_FIELDS}
    fields["pk"] = user.pk
    groups, permissions = _related(type(user), user.pk)
    # What the seal was checked over is what the backend grants from (no second query).
    user._sealed_groups, user._sealed_permissions = frozenset(groups), frozenset(permissions)
    text = canonical_text(fields, groups, permissions)
    valid = verifies(user.seal, text)
    if not valid:  # this object may predate the app's last reseal (of a group, say)
        fresh = type(user)._base_manager.filter(pk=user.pk).values_list("seal", flat=True)
        seal = fresh.first()
        if seal and seal != user.seal and verifies(seal, text):
            user.seal, valid = seal, True
    if not valid:
        logger.error(
            "account seal: user #%s (%s) does not carry a valid seal: refused",
            user.pk,
            user.username[:150],
        )
    user._seal_valid = valid
    return valid


# --- the check: signing in, sessions, permissions --------------------------------------------


class SealedModelBackend(ModelBackend):
    """Django's model backend, for sealed accounts only: a user whose seal does not verify
    cannot sign in, is no session's user (``get_user`` asks ``user_can_authenticate`` on
    every request) and holds no permission, their groups' and superuser's included."""

    _signing_in = False
    _request: HttpRequest | None = None

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        # Each authenticate() gets its own backend object (django.contrib.auth.load_backend).
        self._signing_in, self._request = True, request
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        finally:
            self._signing_in, self._request = False, None

    def user_can_authenticate(self, user: Any) -> bool:
        if not super().user_can_authenticate(user):
            return False
        if is_valid(user):
            return True
        if self._signing_in:  # the password was right: someone else wrote this account
            from audit import services as audit

            audit.record_event(
                action=audit.Action.ACCESS_DENIED,
                request=self._request,
                actor=user,
                outcome="refused",
                details={"why": "account seal", "username": user.username[:150]},
            )
        return False

    def _get_permissions(self, user_obj: Any, obj: Any, from_name: str) -> set[str]:
        if user_obj.is_anonymous or not user_obj.is_active or not is_valid(user_obj):
            return set()
        return super()._get_permissions(user_obj, obj, from_name)  # type: ignore[misc]

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        """The permissions given to the user directly, as their seal covers them."""
        if self._refused(user_obj, obj) or user_obj.is_superuser:
            return super().get_user_permissions(user_obj, obj)  # nothing, or every one
        return set(user_obj._sealed_permissions)

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        """What the user's roles hold, as ``accounts.roles`` says (which a test keeps equal
        to what the migrations wrote). Not the database's ``auth_group_permissions``: a
        permission given to a group there alone (``approve_deletion`` to "Supervisores")
        is no user's seal to break, so it is not believed."""
        if self._refused(user_obj, obj) or user_obj.is_superuser:
            return super().get_group_permissions(user_obj, obj)  # nothing, or every one
        return {p for name in user_obj._sealed_groups for p in roles.ROLE_PERMISSIONS.get(name, ())}

    @staticmethod
    def _refused(user_obj: Any, obj: Any) -> bool:
        """True where Django's backend grants nothing (its answer is then the right one)."""
        return bool(
            obj is not None
            or user_obj.is_anonymous
            or not user_obj.is_active
            or not is_valid(user_obj)
        )

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if user_obj.is_anonymous or not user_obj.is_active or not is_valid(user_obj):
            return set()
        return super().get_all_permissions(user_obj, obj)

    async def _aget_permissions(self, user_obj: Any, obj: Any, from_name: str) -> set[str]:
        return await sync_to_async(self._get_permissions)(user_obj, obj, from_name)

    async def aget_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return await sync_to_async(self.get_all_permissions)(user_obj, obj)


# --- resealing what the app changes ----------------------------------------------------------


def _refuse(pk: Any) -> None:
    logger.error("account seal: user #%s does not carry a valid seal: change refused", pk)
    raise TamperedAccount(f"user #{pk} does not carry a valid account seal")


def _before_save(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    instance._seal_touched = not raw and (
        update_fields is None or bool(SEALED_FIELDS & set(update_fields))
    )
    instance._seal_verified = None
    if instance._seal_touched and instance.pk is not None:
        stored = _stored(sender, instance.pk)
        if stored is not None and not verifies(*stored):
            _refuse(instance.pk)
        instance._seal_verified = stored[1] if stored is not None else None


def _after_save(sender: Any, instance: Any, created: bool, raw: bool = False, **kw: Any) -> None:
    if raw or not (created or getattr(instance, "_seal_touched", False)):
        return
    # The state the app wrote: this object's fields, and the groups and permissions it had
    # when its seal was verified (a new row: none). Not the row as read back, which a
    # trigger could have rewritten in this very statement.
    verified = getattr(instance, "_seal_verified", None)
    before = json.loads(verified) if verified else {"groups": [], "permissions": []}
    written = kw.get("update_fields")  # a partial save wrote these; the rest stays as verified
    fields = {
        name: getattr(instance, name) if written is None or name in written else before[name]
        for name in SEALED_FIELDS
    }
    fields["pk"] = instance.pk
    expected = canonical_text(fields, before["groups"], before["permissions"])
    instance.seal, instance._seal_valid = _seal_expected(sender, instance.pk, expected), None


def _seal_expected(user_model: Any, pk: Any, expected: str) -> str:
    """Seal the row of ``pk`` if, as stored now, it is exactly ``expected`` (the state the
    app meant to write); otherwise refuse. Between the check of the old seal and this one,
    someone else's write (a trigger fired by the app's own statement, say) is never sealed."""
    stored = _stored(user_model, pk)
    if stored is None or stored[1] != expected:
        logger.error("account seal: user #%s as stored is not what the app wrote", pk)
        raise TamperedAccount(f"user #{pk} as stored is not what the app wrote")
    new = make(expected)
    user_model._base_manager.filter(pk=pk).update(seal=new)
    return new


def _user_pks(instance: Any, reverse: bool, pk_set: set[Any] | None, user_model: Any) -> list[Any]:
    if not reverse:
        return [instance.pk]
    if pk_set is not None:
        return sorted(pk_set)
    through = getattr(user_model, "groups" if _is_group(instance) else "user_permissions").through
    column = "group_id" if _is_group(instance) else "permission_id"
    return list(
        through._base_manager.filter(**{column: instance.pk}).values_list("user_id", flat=True)
    )


def _is_group(instance: Any) -> bool:
    from django.contrib.auth.models import Group

    return isinstance(instance, Group)


def _names(model: Any, pks: Iterable[Any]) -> set[str]:
    """The sealed names of groups (their name) or permissions (``app_label.codename``)."""
    from django.contrib.auth.models import Group

    rows = model._base_manager.filter(pk__in=list(pks))
    if issubclass(model, Group):
        return {str(n) for n in rows.values_list("name", flat=True)}
    pairs = rows.values_list("content_type__app_label", "codename")
    return {f"{app}.{codename}" for app, codename in pairs}


def _expected(verified: str, kind: str, action: str, names: set[str] | None) -> str:
    """The state ``verified`` after adding or removing ``names`` of ``kind`` (None: all)."""
    content = json.loads(verified)
    now = set(content[kind])
    if action.endswith("add"):
        now |= names or set()
    else:
        now = set() if names is None else now - names
    content[kind] = sorted(now)
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _m2m_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[Any] | None, **kw: Any
) -> None:
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    kind = "groups" if sender is user_model.groups.through else "permissions"
    if action.startswith("pre_"):
        pks = _user_pks(instance, reverse, pk_set, user_model)
        verified: dict[Any, str] = {}
        for pk in pks:
            stored = _stored(user_model, pk)
            if stored is None or not verifies(*stored):
                _refuse(pk)
            else:
                verified[pk] = stored[1]
        # What is added or taken, named before the write (a clear of a user's own: all).
        if reverse:
            names: set[str] | None = _names(type(instance), [instance.pk])
        else:
            names = None if pk_set is None else _names(kw["model"], pk_set)
        instance._seal_pending = (verified, names)  # post_clear has no pk_set
    elif action.startswith("post_"):
        pending = getattr(instance, "_seal_pending", None)
        instance._seal_pending = None
        if pending is None:  # never: every post_ follows its pre_
            raise TamperedAccount("an account change without its check")
        verified, names = pending
        for pk, text in verified.items():
            new = _seal_expected(user_model, pk, _expected(text, kind, action, names))
            if not reverse:
                instance.seal, instance._seal_valid = new, None


def _before_related_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A group or permission is deleted: its rows go without m2m signals. Its members whose
    seal verifies now are resealed afterwards, without it; a tampered one stays invalid."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    verified = {}
    for pk in _user_pks(instance, True, None, user_model):
        stored = _stored(user_model, pk)
        if stored is not None and verifies(*stored):
            verified[pk] = stored[1]
    kind = "groups" if _is_group(instance) else "permissions"
    instance._seal_pending = (verified, kind, _names(type(instance), [instance.pk]))


def _after_related_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    from django.contrib.auth import get_user_model

    verified, kind, names = getattr(instance, "_seal_pending", None) or ({}, "groups", set())
    for pk, text in verified.items():
        _seal_expected(get_user_model(), pk, _expected(text, kind, "remove", names))


def connect() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    user_model = get_user_model()
    pre_save.connect(_before_save, sender=user_model, dispatch_uid="accounts.seal.pre_save")
    post_save.connect(_after_save, sender=user_model, dispatch_uid="accounts.seal.post_save")
    for name in ("groups", "user_permissions"):
        m2m_changed.connect(
            _m2m_changed,
            sender=getattr(user_model, name).through,
            dispatch_uid=f"accounts.seal.m2m.{name}",
        )
    for model in (Group, Permission):
        pre_delete.connect(
            _before_related_delete, sender=model, dispatch_uid=f"accounts.seal.pre_del.{model}"
        )
        post_delete.connect(
            _after_related_delete, sender=model, dispatch_uid=f"accounts.seal.post_del.{model}"
        )
