"""Access pages: users, their roles and scope, and changes that wait for a second manager."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import DecisionForm, NewUserForm, OwnPasswordForm, PasswordResetForm, UserForm
from accounts.models import AccessChange
from accounts.stepup import needs_step_up
from recordings.models import User
from recordings.signals import AUTH_AT, auth_age_seconds
from vonoportal.http import AuthedRequest

MANAGE = "accounts.manage_access"


def _target(request: AuthedRequest, pk: int) -> User:
    user = selectors.visible_users(request.user).filter(pk=pk).first()
    if user is None:
        raise Http404
    return user


def _change(request: AuthedRequest, pk: int) -> AccessChange:
    change = selectors.visible_changes(request.user).filter(pk=pk).first()
    if change is None:
        raise Http404
    return change


def _after_change(request: AuthedRequest, result: services.ChangeResult) -> HttpResponse:
    if result.pending is not None:
        messages.success(
            request,
            _("A mudança de acesso aguarda a aprovação de outro gestor de acesso."),
        )
        return redirect("access_change_detail", pk=result.pending.pk)
    messages.success(request, _("Usuário salvo."))
    return redirect("access_user_detail", pk=result.user.pk)


@require_GET
def home(request: AuthedRequest) -> HttpResponse:
    """Each person lands where their work is: recordings, the access pages, or (the DPO) the
    LGPD access report."""
    user = request.user
    if user.has_perm("recordings.view_recording"):
        return redirect("recording_list")
    if user.has_perm(MANAGE):
        return redirect("access_home")
    if user.has_perm("privacy.view_privacy_report"):
        return redirect("privacy_report")
    return redirect("recording_list")


@require_GET
@login_required
@permission_required(MANAGE, raise_exception=True)
def access_home(request: AuthedRequest) -> HttpResponse:
    services.access_changes_expire_due()
    changes = selectors.visible_changes(request.user)
    return render(
        request,
        "accounts/home.html",
        {
            "users": selectors.visible_users(request.user),
            "pending": changes.filter(status=AccessChange.Status.PENDING),
            "recent": changes.exclude(status=AccessChange.Status.PENDING)[:20],
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(MANAGE, raise_exception=True)
def access_user_new(request: AuthedRequest) -> HttpResponse:
    initial = {"customer_id": request.user.customer_id, "extensions": request.user.extensions}
    form = NewUserForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.user_create(
                actor=request.user,
                username=data["username"],
                password=data["password"],
                groups=data["groups"],
                customer_id=data["customer_id"],
                extensions=data["extensions"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                reason=data["reason"],
                request=request,
            )
        except services.Invalid as exc:
            form.add_error(exc.field, str(exc))
        except services.AccessError as exc:
            form.add_error(None, str(exc))
        else:
            return _after_change(request, result)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "accounts/user_new.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(MANAGE, raise_exception=True)
def access_user_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    form = UserForm(request.POST or None, initial=_initial(target))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.user_change(
                actor=request.user,
                target_id=target.pk,
                groups=data["groups"],
                customer_id=data["customer_id"],
                extensions=data["extensions"],
                is_active=data["is_active"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                reason=data["reason"],
                request=request,
            )
        except services.Invalid as exc:
            form.add_error(exc.field, str(exc))
        except services.AccessError as exc:
            form.add_error(None, str(exc))
        else:
            return _after_change(request, result)
    return render(
        request,
        "accounts/user_detail.html",
        _user_context(request, target, form=form),
        status=400 if form.is_bound and form.errors else 200,
    )


def _initial(target: User) -> dict[str, Any]:
    return {
        "first_name": target.first_name,
        "last_name": target.last_name,
        "email": target.email,
        "groups": sorted(services.state_of(target).groups),
        "customer_id": target.customer_id,
        "extensions": target.extensions,
        "is_active": target.is_active,
    }


def _user_context(request: AuthedRequest, target: User, **extra: Any) -> dict[str, Any]:
    return {
        "target": target,
        "can_manage": services.can_manage(request.user, target),
        "is_self": target.pk == request.user.pk,
        "privileged": services.is_privileged(target),
        "pending": selectors.visible_changes(request.user)
        .filter(target=target, status=AccessChange.Status.PENDING)
        .first(),
        "history": selectors.user_history(target, request.user),
        "password_form": extra.pop("password_form", None) or PasswordResetForm(),
        **extra,
    }


@require_POST
@login_required
@permission_required(MANAGE, raise_exception=True)
def access_user_password(request: AuthedRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    form = PasswordResetForm(request.POST)
    if form.is_valid():
        try:
            services.password_reset(
                actor=request.user,
                target_id=target.pk,
                password=form.cleaned_data["password"],
                request=request,
            )
        except services.Invalid as exc:
            form.add_error("password", str(exc))
        except services.AccessError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Senha definida. %(user)s vai escolher a própria senha no próximo acesso.")
                % {"user": target.username},
            )
            return redirect("access_user_detail", pk=target.pk)
    context = _user_context(
        request, target, form=UserForm(initial=_initial(target)), password_form=form
    )
    return render(request, "accounts/user_detail.html", context, status=400)


@require_GET
@login_required
@permission_required(MANAGE, raise_exception=True)
def access_change_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    services.access_changes_expire_due()
    change = _change(request, pk)
    return render(request, "accounts/change_detail.html", _change_context(request, change))


def _change_context(request: AuthedRequest, change: AccessChange, **extra: Any) -> dict[str, Any]:
    before = services.AccessState.from_json(change.before)
    after = services.AccessState.from_json(change.after)
    return {
        "change": change,
        "before": before,
        "after": after,
        "added": sorted(after.groups - before.groups),
        "removed": sorted(before.groups - after.groups),
        "can_decide": services.can_decide(change, request.user),
        "can_cancel": services.can_cancel(change, request.user),
        "step_up": needs_step_up(auth_age_seconds(request)),
        "step_up_minutes": settings.DELETION_STEP_UP_MINUTES,
        **extra,
    }


def _decide(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    change = _change(request, pk)
    form = DecisionForm(request.POST)
    form.is_valid()  # both fields optional, length-capped: cleaned_data is always usable
    data = form.cleaned_data
    try:
        if action == "approve":
            services.access_change_approve(
                change_id=change.pk,
                actor=request.user,
                password=data.get("password", ""),
                auth_age_seconds=auth_age_seconds(request),
                request=request,
            )
            if data.get("password"):
                request.session[AUTH_AT] = time.time()
            messages.success(request, _("Mudança aprovada e aplicada."))
        elif action == "reject":
            services.access_change_reject(
                change_id=change.pk,
                actor=request.user,
                reason=data.get("reason", ""),
                request=request,
            )
            messages.success(request, _("Mudança rejeitada."))
        else:
            services.access_change_cancel(change_id=change.pk, actor=request.user, request=request)
            messages.success(request, _("Mudança cancelada."))
    except (services.StepUpRequired, services.Invalid) as exc:
        change.refresh_from_db()
        context = _change_context(request, change, decide_error=str(exc))
        return render(request, "accounts/change_detail.html", context, status=400)
    except services.AccessError as exc:
        messages.error(request, str(exc))
    return redirect("access_change_detail", pk=change.pk)


@require_POST
@login_required
@permission_required(MANAGE, raise_exception=True)
def access_change_approve(request: AuthedRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "approve")


@require_POST
@login_required
@permission_required(MANAGE, raise_exception=True)
def access_change_reject(request: AuthedRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "reject")


@require_POST
@login_required
@permission_required(MANAGE, raise_exception=True)
def access_change_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "cancel")


@require_http_methods(["GET", "POST"])
@login_required
def password_change(request: AuthedRequest) -> HttpResponse:
    """Anyone signed in chooses a new password (required after someone else set theirs)."""
    form = OwnPasswordForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change_own(
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
                request=request,
            )
        except services.Invalid as exc:
            form.add_error(exc.field, str(exc))
        else:
            update_session_auth_hash(request, request.user)
            request.session[AUTH_AT] = time.time()
            messages.success(request, _("Senha trocada."))
            return redirect(next_url or reverse("home"))
    return render(
        request,
        "accounts/password_change.html",
        {"form": form, "next": next_url, "required": request.user.must_change_password},
        status=400 if form.is_bound and form.errors else 200,
    )
