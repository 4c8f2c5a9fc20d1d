"""Red team, session 4: the account seal, sessions, batched audit events, the list's rollup
totals and the hand-written scores query, attacked by someone who holds only the database
(raw SQL, triggers), by a second identity and by concurrent writers. Each test asserts what
holds; the session store and the seal's reseal were broken and fixed (see their modules)."""

from __future__ import annotations

import datetime as dt
import threading
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test import Client

from accounts import seal
from accounts.sessions import row_key
from audit import services as audit
from audit.models import AuditEvent
from index import selectors as index_selectors
from qa import selectors as qa_selectors
from recordings import listing
from recordings.models import User
from recordings.scope import Scope, parse_extensions
from reports import selectors as report_selectors
from tests.conftest import make_user
from tests.test_list_totals import DAY, _search, calls  # noqa: F401 - the fixture

PASSWORD = "pw-for-tests"
SUPERVISORS, ADMINS = "Supervisores", "Administradores"
APPROVE = "recordings.approve_deletion"
POSTGRES = connection.vendor == "postgresql"


# The DBA's statements below are built from ids the test itself read (S608: not input).
def _sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def _group_id(name: str) -> int:
    return Group.objects.get(name=name).pk


def _signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def _who(client: Client) -> Any:
    """The user the portal sees behind this client's cookie (anonymous: None)."""
    user = client.get("/").wsgi_request.user
    return user.username if user.is_authenticated else None


# --- sessions: the database alone hands nobody's session over ---------------------------------


def test_a_session_row_is_not_its_cookie(db: None) -> None:
    make_user("ana", ADMINS)
    ana = _signed_in("ana")
    cookie = ana.cookies[django_settings.SESSION_COOKIE_NAME].value
    (row,) = Session.objects.all()
    assert row.session_key == row_key(cookie) != cookie
    assert _who(ana) == "ana"
    # The DBA reads the row and sends its key as their cookie: nobody.
    thief = Client()
    thief.cookies[django_settings.SESSION_COOKIE_NAME] = row.session_key
    assert _who(thief) is None


def test_an_approvers_session_data_copied_into_another_row_signs_nobody_in(db: None) -> None:
    make_user("ana", ADMINS)
    make_user("bia", SUPERVISORS)
    ana, bia = _signed_in("ana"), _signed_in("bia")
    ana_row = row_key(ana.cookies[django_settings.SESSION_COOKIE_NAME].value)
    bia_row = row_key(bia.cookies[django_settings.SESSION_COOKIE_NAME].value)
    data = Session.objects.get(session_key=ana_row).session_data
    _sql("UPDATE django_session SET session_data = %s WHERE session_key = %s", [data, bia_row])
    assert _who(bia) is None  # not ana: the data was signed for ana's cookie alone
    assert _who(ana) == "ana"


def test_a_session_whose_user_id_is_rewritten_signs_nobody_in(db: None) -> None:
    ana, bia = make_user("ana", ADMINS), make_user("bia", SUPERVISORS)
    client = _signed_in("bia")
    store = import_module(django_settings.SESSION_ENGINE).SessionStore
    # Even re-signed by someone with SECRET_KEY for bia's cookie, the auth hash is bia's.
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    session = store(session_key=cookie)
    assert session[SESSION_KEY] == str(bia.pk)
    session[SESSION_KEY] = str(ana.pk)
    session.save()
    assert _who(client) is None


def test_signing_out_and_in_again_cycles_the_row(db: None) -> None:
    make_user("ana", ADMINS)
    client = _signed_in("ana")
    client.logout()
    assert not Session.objects.exists()
    client = _signed_in("ana")
    assert _who(client) == "ana"
    assert Session.objects.count() == 1


# --- the seal: groups are names, rows are ids ---------------------------------------------------


def test_swapping_two_groups_names_breaks_both_roles_members(db: None) -> None:
    sup, adm = make_user("sup", SUPERVISORS), make_user("adm", ADMINS)
    sup_id, adm_id = _group_id(SUPERVISORS), _group_id(ADMINS)
    _sql("UPDATE auth_group SET name = 'tmp' WHERE id = %s", [sup_id])
    _sql("UPDATE auth_group SET name = %s WHERE id = %s", [SUPERVISORS, adm_id])
    _sql("UPDATE auth_group SET name = %s WHERE id = %s", [ADMINS, sup_id])
    for user in (sup, adm):
        fresh = _fresh(user)
        assert not seal.is_valid(fresh)
        assert not fresh.has_perm(APPROVE)
        assert not fresh.has_perm("recordings.view_recording")


def test_a_membership_pointed_at_a_new_group_named_like_a_role_grants_nothing(db: None) -> None:
    sup = make_user("sup", SUPERVISORS)
    _sql("UPDATE auth_group SET name = 'old admins' WHERE name = %s", [ADMINS])
    _sql("INSERT INTO auth_group (name) VALUES (%s)", [ADMINS])
    _sql(
        "UPDATE recordings_user_groups SET group_id = %s WHERE user_id = %s",
        [_group_id(ADMINS), sup.pk],
    )
    fresh = _fresh(sup)
    assert not fresh.has_perm(APPROVE)
    assert not fresh.has_perm("recordings.view_recording")
    assert not Client().login(username="sup", password=PASSWORD)


def test_a_valid_username_hash_and_seal_copied_onto_another_row_signs_nobody_in(db: None) -> None:
    adm, sup = make_user("adm", ADMINS), make_user("sup", SUPERVISORS)
    stored = User.objects.values("username", "password", "seal").get(pk=adm.pk)
    _sql("UPDATE recordings_user SET username = 'adm-old' WHERE id = %s", [adm.pk])
    _sql(
        "UPDATE recordings_user SET username = %s, password = %s, seal = %s WHERE id = %s",
        [stored["username"], stored["password"], stored["seal"], sup.pk],
    )
    assert not Client().login(username="adm", password=PASSWORD)  # the seal names adm's pk
    assert not _fresh(sup).has_perm("recordings.view_recording")


def test_an_old_state_put_back_with_its_old_seal_verifies_as_documented(db: None) -> None:
    """Not covered by the seal (accounts/seal.py says so): a replay of the same account's
    earlier row. What tells it is the audit log's history of the account."""
    user = make_user("ana", SUPERVISORS)
    old = User.objects.values("password", "seal").get(pk=user.pk)
    user.set_password("a-newer-password")
    user.save()
    _sql(
        "UPDATE recordings_user SET password = %s, seal = %s WHERE id = %s",
        [old["password"], old["seal"], user.pk],
    )
    assert seal.stored_is_valid(User, user.pk)
    assert Client().login(username="ana", password=PASSWORD)


# --- the seal: a trigger fired by the app's own write is never sealed ---------------------------


def _trigger_on_password(user_id: int) -> None:
    """A DBA's trigger: when the app writes this user's password, make them a superuser in
    the same statement (the app's reseal then read the row back and sealed it)."""
    if POSTGRES:
        _sql(
            "CREATE FUNCTION redteam_escalate() RETURNS trigger AS $$ BEGIN "
            "IF NEW.password <> OLD.password THEN NEW.is_superuser := true; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        _sql(
            "CREATE TRIGGER redteam_escalate BEFORE UPDATE ON recordings_user "
            "FOR EACH ROW EXECUTE FUNCTION redteam_escalate()"
        )
    else:
        _sql(
            "CREATE TRIGGER redteam_escalate AFTER UPDATE OF password ON recordings_user "  # noqa: S608
            f"WHEN NEW.id = {int(user_id)} BEGIN "
            "UPDATE recordings_user SET is_superuser = 1 WHERE id = NEW.id; END"
        )


def _trigger_on_membership(role: int, extra: int) -> None:
    """A DBA's trigger: whoever the app adds to ``role`` is also put in ``extra``."""
    if POSTGRES:
        _sql(
            "CREATE FUNCTION redteam_member() RETURNS trigger AS $$ BEGIN "  # noqa: S608
            f"IF NEW.group_id = {int(role)} THEN INSERT INTO recordings_user_groups "
            f"(user_id, group_id) VALUES (NEW.user_id, {int(extra)}); END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        _sql(
            "CREATE TRIGGER redteam_member AFTER INSERT ON recordings_user_groups "
            "FOR EACH ROW EXECUTE FUNCTION redteam_member()"
        )
    else:
        _sql(
            "CREATE TRIGGER redteam_member AFTER INSERT ON recordings_user_groups "  # noqa: S608
            f"WHEN NEW.group_id = {int(role)} BEGIN INSERT INTO recordings_user_groups "
            f"(user_id, group_id) VALUES (NEW.user_id, {int(extra)}); END"
        )


def test_a_trigger_on_the_apps_password_write_is_not_sealed(db: None) -> None:
    user = make_user("sup", SUPERVISORS)
    _trigger_on_password(user.pk)
    user.set_password("the-users-new-password")
    with pytest.raises(seal.TamperedAccount):
        user.save()
    fresh = _fresh(user)
    assert fresh.is_superuser  # the trigger wrote it...
    assert not seal.stored_is_valid(User, user.pk)  # ...and nobody sealed it
    assert not fresh.has_perm(APPROVE)
    assert not Client().login(username="sup", password="the-users-new-password")


def test_a_trigger_on_the_apps_group_add_is_not_sealed(db: None) -> None:
    user = make_user("novo", None)
    _trigger_on_membership(_group_id(SUPERVISORS), _group_id(ADMINS))
    with pytest.raises(seal.TamperedAccount), transaction.atomic():
        user.groups.add(Group.objects.get(name=SUPERVISORS))
    # The app's add went back with the trigger's: the account is as it was, sealed, no role.
    fresh = _fresh(user)
    assert seal.stored_is_valid(User, user.pk)
    assert not fresh.groups.exists()
    assert not fresh.has_perm(APPROVE)


def test_a_group_renamed_between_check_and_reseal_is_not_sealed(db: None) -> None:
    """The check reads the group's name before the write; a trigger renaming it in the same
    statement (here: the admins' row made "Supervisores"'s twin) is caught after it."""
    user = make_user("novo", None)
    sup_id, adm_id = _group_id(SUPERVISORS), _group_id(ADMINS)
    body = (
        f"UPDATE auth_group SET name = 'x' WHERE id = {adm_id}; "  # noqa: S608
        f"UPDATE auth_group SET name = '{ADMINS}' WHERE id = {sup_id}; "
        f"UPDATE auth_group SET name = '{SUPERVISORS}' WHERE id = {adm_id};"
    )
    if POSTGRES:
        _sql(
            "CREATE FUNCTION redteam_rename() RETURNS trigger AS $$ BEGIN "
            f"{body} RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        _sql(
            "CREATE TRIGGER redteam_rename AFTER INSERT ON recordings_user_groups "
            "FOR EACH ROW EXECUTE FUNCTION redteam_rename()"
        )
    else:
        _sql(
            f"CREATE TRIGGER redteam_rename AFTER INSERT ON recordings_user_groups BEGIN {body} END"
        )
    with pytest.raises(seal.TamperedAccount), transaction.atomic():
        user.groups.add(Group.objects.get(pk=sup_id))
    assert not _fresh(user).groups.exists()
    assert not _fresh(user).has_perm(APPROVE)


def test_the_apps_own_changes_still_reseal(db: None) -> None:
    user = make_user("ana", SUPERVISORS, customer_id=3)
    user.groups.add(Group.objects.get(name=ADMINS))
    user.groups.remove(Group.objects.get(name=SUPERVISORS))
    user.set_password("another-one")
    user.extensions = "2003"
    user.save()
    user.groups.clear()
    user.groups.set([Group.objects.get(name=ADMINS)])
    Group.objects.create(name="temporário").user_set.add(user)
    Group.objects.get(name="temporário").delete()
    fresh = _fresh(user)
    assert seal.is_valid(fresh)
    assert fresh.has_perm(APPROVE)
    assert Client().login(username="ana", password="another-one")


def test_a_partial_save_seals_what_it_wrote_not_the_objects_other_fields(db: None) -> None:
    """Django's own rehash on sign-in saves ``update_fields=["password"]``; an object with
    another field changed in memory (not written) is sealed as stored, not refused."""
    user = make_user("ana", SUPERVISORS)
    user.is_superuser = True  # in memory only
    user.set_password("rehashed")
    user.save(update_fields=["password"])
    fresh = _fresh(user)
    assert not fresh.is_superuser
    assert seal.is_valid(fresh)
    assert Client().login(username="ana", password="rehashed")


# --- audit.record_events -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # checkpoints are written on commit
def test_record_events_of_nothing_writes_nothing() -> None:
    audit.record_event(action=audit.Action.SEARCH)
    before = list(AuditEvent.objects.values_list("seq", "hash"))
    assert audit.record_events(action=audit.Action.DOWNLOAD, entries=[]) == []
    assert list(AuditEvent.objects.values_list("seq", "hash")) == before
    assert audit.verify_chain().broken is None


@pytest.mark.django_db(transaction=True)
def test_record_events_crossing_checkpoints_verifies(settings: Any) -> None:
    settings.AUDIT_CHECKPOINT_EVERY = 5
    for size in (3, 12, 1, 1, 7):
        audit.record_events(
            action=audit.Action.DOWNLOAD,
            entries=[([n], 3, {"n": n}) for n in range(size)],
        )
    result = audit.verify_chain()
    assert result.broken is None
    assert result.checked == 24
    # One checkpoint per batch that reached a multiple of 5, at the batch's end.
    assert result.checkpoints == 2  # at 15 (the batch 4-15), at 24 (18-24 reached 20)


@pytest.mark.skipif(not POSTGRES, reason="concurrent writers on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_keep_one_unbroken_chain(settings: Any) -> None:
    settings.AUDIT_CHECKPOINT_EVERY = 7
    batches: list[list[int]] = []
    lock = threading.Lock()

    def write(worker: int) -> None:
        try:
            for round_ in range(6):
                events = audit.record_events(
                    action=audit.Action.DOWNLOAD,
                    entries=[([worker * 100 + n], 3, {"round": round_}) for n in range(9)],
                )
                audit.record_event(action=audit.Action.SEARCH)
                with lock:
                    batches.append([e.seq for e in events])
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = audit.verify_chain()
    assert result.broken is None
    assert result.checked == 4 * 6 * 10
    assert len(batches) == 24
    for seqs in batches:  # one head lock per batch: no other writer's event within it
        assert seqs == list(range(seqs[0], seqs[0] + 9))
    assert sorted(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 241))


# --- the list's totals from the rollups --------------------------------------------------------

EXT = parse_extensions("2001")
FAR = dt.date(1970, 1, 1)
FUTURE = dt.date(2999, 12, 31)
TOTALS = [
    (dict(date_ini=DAY, date_end=DAY, asked_customer=0), None),
    (dict(date_ini=DAY, date_end=DAY, asked_customer=-1), None),
    (dict(date_ini=DAY, date_end=DAY + dt.timedelta(days=1)), Scope(0)),
    (dict(date_ini=DAY, date_end=DAY + dt.timedelta(days=1)), Scope(-1)),
    (dict(date_ini=DAY, date_end=DAY + dt.timedelta(days=1), asked_customer=7), Scope(3)),
    (dict(date_ini=DAY, date_end=DAY + dt.timedelta(days=1), asked_customer=7), Scope(7)),
    (dict(date_ini=DAY + dt.timedelta(days=1), date_end=DAY), None),
    (dict(date_ini=FAR, date_end=FUTURE), None),
    (dict(date_ini=FAR), Scope(7)),
    (dict(date_ini=FUTURE), None),
    (dict(date_ini=DAY, date_end=DAY + dt.timedelta(days=1)), Scope(7, EXT)),
    (dict(date_ini=DAY, date_end=DAY + dt.timedelta(days=1)), Scope(3, EXT)),
    (dict(date_ini=DAY, date_end=DAY + dt.timedelta(days=1), asked_customer=7), Scope(None, EXT)),
]


def _counted(search: listing.ListSearch, scope: Scope | None) -> tuple[int, int, int]:
    page = index_selectors.page_of(listing.rows(search, scope=scope), start=0, count=1)
    return page.total_records, page.total_time, page.total_size


@pytest.mark.parametrize(("fields", "scope"), TOTALS)
def test_rollup_totals_are_the_rows_and_keep_to_the_scope(
    calls: None,  # noqa: F811 - the fixture
    fields: dict[str, object],
    scope: Scope | None,
) -> None:
    search = _search(**fields)
    summed = listing._whole_day_totals(search, scope)
    if scope is not None and scope.extensions is not None:
        assert summed is None  # the rollups know no extensions: a team's rows are counted
    if summed is not None:
        assert summed == _counted(search, scope)
    if POSTGRES and (scope is None or scope.extensions is None):
        asked = fields.get("asked_customer")
        negative = any(c is not None and c < 0 for c in (asked, getattr(scope, "customer_id", 0)))
        assert (summed is None) == negative


@pytest.mark.skipif(not POSTGRES, reason="the rollups are PostgreSQL's")
def test_rollup_totals_follow_a_recording_moved_to_another_day_and_subscriber(
    calls: None,  # noqa: F811 - the fixture
) -> None:
    from django.utils import timezone

    from index import services, sync
    from tests.conftest import make_recording as _call
    from tests.test_list_totals import _at

    tuesday = DAY + dt.timedelta(days=1)
    sync.upsert_page([_call(1, _at(tuesday, 10), customer_id=7, duration=11)], timezone.now())
    services.recordings_mark_deleted(record_ids=[4])
    sync.upsert_page([_call(4, _at(DAY, 10), customer_id=3)], timezone.now())  # seen again
    for scope in (None, Scope(3), Scope(7)):
        for day in (DAY, tuesday):
            search = _search(date_ini=day, date_end=day)
            assert report_selectors.whole_day_totals(
                date_ini=day, date_end=day, customers=(report_selectors.subscriber_of(scope),)
            ) == _counted(search, scope)


# --- qa.selectors.scores_by_record ---------------------------------------------------------------


@pytest.mark.parametrize("bad", ["1) OR (1=1", "1; DROP TABLE qa_evaluation", "0x1", "1.5", None])
def test_scores_by_record_takes_integers_only(db: None, bad: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        qa_selectors.scores_by_record([1, bad])


def test_scores_by_record_with_odd_but_integer_ids(db: None) -> None:
    assert qa_selectors.scores_by_record([]) == {}
    assert qa_selectors.scores_by_record(["12", True, -5, 2**31]) == {}  # type: ignore[list-item]


# --- retention: a lift request's refusal taken out of the log --------------------------------


@pytest.mark.skipif(not POSTGRES, reason="the DBA switches PostgreSQL's guards off")
@pytest.mark.django_db(transaction=True)  # checkpoints are written on commit
def test_a_refused_lift_reopened_by_deleting_its_refusal_is_caught_by_audit_verify() -> None:
    """Not prevented, detected: a DBA who is also a third administrator deletes the refusal
    event (guards off), puts the hold back to "lift pending" and approves the requester's
    earlier, still young request. The approval's check reads the newest lift event, which is
    now the authentic request; the chain's gap is what tells it (``audit_verify``)."""
    from accounts.roles import ensure_groups
    from retention import services as retention
    from retention.models import LegalHold

    ensure_groups()
    asker, refuser, insider = (make_user(n, ADMINS) for n in ("adao", "bruna", "caio"))
    hold = retention.hold_place(
        actor=asker, terms=retention.HoldTerms(number="4133334444"), reason="processo 1/2026"
    )
    retention.hold_lift_request(hold_id=hold.pk, actor=asker, reason="acordo")
    retention.hold_lift_refuse(hold_id=hold.pk, actor=refuser)
    refusal = AuditEvent.objects.order_by("-seq").first()
    assert refusal is not None and refusal.action == "hold_lift_refused"
    assert audit.verify_chain().broken is None
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # every trigger off
        try:
            events, holds = AuditEvent._meta.db_table, LegalHold._meta.db_table
            cursor.execute(f"DELETE FROM {events} WHERE seq = %s", [refusal.seq])  # noqa: S608
            cursor.execute(
                f"UPDATE {holds} SET status = 'lift_pending', "  # noqa: S608
                "lift_requested_by_id = %s, lift_requested_at = now(), lift_reason = 'acordo' "
                "WHERE id = %s",
                [asker.pk, hold.pk],
            )
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
    retention.hold_lift_approve(hold_id=hold.pk, actor=insider, auth_age_seconds=0)
    assert LegalHold.objects.get(pk=hold.pk).status == LegalHold.Status.LIFTED
    broken = audit.verify_chain().broken
    assert broken is not None and broken.seq == refusal.seq


# --- a refusal overruled by putting the row back to pending ------------------------------------


def _put_back(table: str, pk: int, **columns: Any) -> None:
    """A DBA sets a decided row back to pending (PostgreSQL's guards off for the session;
    SQLite has none), leaving the audit log as it is."""
    assignments = ", ".join(f"{name} = %s" for name in columns)
    with connection.cursor() as cursor:
        if POSTGRES:
            cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(
                f"UPDATE {table} SET {assignments} WHERE id = %s",  # noqa: S608
                [*columns.values(), pk],
            )
        finally:
            if POSTGRES:
                cursor.execute("SET session_replication_role = DEFAULT")


def test_a_rejected_deletion_put_back_to_pending_cannot_be_approved_by_a_third(
    db: None, sim: Any
) -> None:
    from accounts.roles import ensure_groups
    from deletions import services as deletions
    from deletions.models import DeletionRequest

    ensure_groups()
    asker = make_user("sara", "Supervisores")
    refuser, insider = make_user("bruna", ADMINS), make_user("caio", ADMINS)
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    deletion = deletions.deletion_request_create(actor=asker, reason="x", ids=[record_id])
    deletions.deletion_request_reject(deletion_id=deletion.pk, actor=refuser, reason="não")
    _put_back(DeletionRequest._meta.db_table, deletion.pk, status="pending", decided_by_id=None)
    deletion.refresh_from_db()
    assert deletion.status == "pending"
    assert not deletions.can_decide(deletion, insider)
    with pytest.raises(deletions.NotAllowed):
        deletions.deletion_request_approve(
            deletion_id=deletion.pk, actor=insider, typed_count="1", auth_age_seconds=0
        )
    assert DeletionRequest.objects.get(pk=deletion.pk).status == "pending"
    assert sim.stats()["delete_calls"] == []


def test_a_rejected_retention_policy_put_back_to_pending_cannot_be_approved(db: None) -> None:
    from accounts.roles import ensure_groups
    from retention import services as retention
    from retention.models import RetentionPolicy

    ensure_groups()
    asker, refuser, insider = (make_user(n, ADMINS) for n in ("adao", "bruna", "caio"))
    policy = retention.policy_request(actor=asker, days=400, customer_id=12, reason="contrato")
    retention.policy_reject(policy_id=policy.pk, actor=refuser, reason="não")
    _put_back(RetentionPolicy._meta.db_table, policy.pk, status="pending", decided_by_id=None)
    with pytest.raises(retention.NotAllowed):
        retention.policy_approve(policy_id=policy.pk, actor=insider, auth_age_seconds=0)
    assert RetentionPolicy.objects.get(pk=policy.pk).status == "pending"


def test_an_access_change_not_asked_through_the_app_cannot_be_approved(db: None) -> None:
    from accounts import services as access
    from accounts.models import AccessChange
    from accounts.roles import ensure_groups

    ensure_groups()
    first, second, third = (make_user(n, "Gestores de acesso") for n in ("gus", "gabi", "gil"))
    target = make_user("alvo", "Supervisores", customer_id=12)
    before = access.state_of(target)
    after = {**before.as_json(), "customer_id": None}
    # Asked and refused through the app, then put back to pending by a DBA.
    asked = access.user_change(
        actor=first,
        target_id=target.pk,
        groups=sorted(before.groups),
        customer_id=None,
        is_active=True,
        first_name="",
        last_name="",
        email="",
        reason="todas as filiais",
    )
    assert asked.pending is not None
    access.access_change_reject(change_id=asked.pending.pk, actor=second, reason="não")
    _put_back(AccessChange._meta.db_table, asked.pending.pk, status="pending", decided_by_id=None)
    with pytest.raises(access.NotAllowed):
        access.access_change_approve(change_id=asked.pending.pk, actor=third, auth_age_seconds=0)
    # Inserted in a colleague's name, never asked through the app.
    forged = AccessChange.objects.create(
        target=target,
        requested_by=first,
        requested_at=target.date_joined,
        reason="forjado",
        expires_at=AccessChange.objects.get(pk=asked.pending.pk).expires_at,
        before=before.as_json(),
        after=after,
    )
    with pytest.raises(access.NotAllowed):
        access.access_change_approve(change_id=forged.pk, actor=third, auth_age_seconds=0)
    assert _fresh(target).customer_id == before.customer_id
