"""Retention: policies (asked, approved by another, run daily) and legal holds."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, user_passes_test
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.stepup import needs_step_up
from deletions.models import DeletionRequest
from recordings import access
from recordings.pages import invalid_parameter
from recordings.signals import AUTH_AT, auth_age_seconds
from retention import services as retention
from retention.forms import HoldForm, PolicyForm, ReasonForm
from retention.models import SAC_MINIMUM_DAYS, LegalHold, RetentionPolicy
from vonoportal.http import AuthedRequest

PERMISSION = retention.PERMISSION
manager_only = user_passes_test(retention.may_manage)  # anonymous: sign in; others: 403


def _first_error(request: AuthedRequest, form: Any) -> HttpResponse:
    field, errors = next(iter(form.errors.items()))
    return invalid_parameter(request, field, " ".join(str(e) for e in errors))


@require_GET
@login_required
@manager_only
def retention_home(request: AuthedRequest) -> HttpResponse:
    retention.policies_expire_due()
    retention.hold_lifts_expire_due()
    retention.ensure_scheduled()  # a first start, or a lost daily task
    policies = retention.visible_policies(request.user)
    in_force = [
        (policy, retention.run_preview(customer_id=policy.customer_id, days=policy.days))
        for policy in policies.filter(status=RetentionPolicy.Status.ACTIVE)
    ]
    holds = retention.visible_holds(request.user)
    return render(
        request,
        "retention/home.html",
        {
            "in_force": in_force,
            "pending": policies.filter(status=RetentionPolicy.Status.PENDING),
            "past": policies.exclude(
                status__in=[RetentionPolicy.Status.PENDING, RetentionPolicy.Status.ACTIVE]
            )[:50],
            "holds": holds.exclude(status=LegalHold.Status.LIFTED),
            "lifted": holds.filter(status=LegalHold.Status.LIFTED)[:50],
            "runs": DeletionRequest.objects.filter(kind=DeletionRequest.Kind.RETENTION)
            .filter(**_run_scope(request))
            .order_by("-requested_at")[:10],
            "sac_minimum": SAC_MINIMUM_DAYS,
        },
    )


def _run_scope(request: AuthedRequest) -> dict[str, Any]:
    scope = access.scope_of(request.user).customer_id
    return {} if scope is None else {"customer_id": scope}


@require_http_methods(["GET", "POST"])
@login_required
@manager_only
def retention_policy_new(request: AuthedRequest) -> HttpResponse:
    """Ask for a policy: GET shows what it would delete (preview, warning), POST asks."""
    scope = access.scope_of(request.user).customer_id
    data = request.POST if request.method == "POST" else request.GET
    form = PolicyForm(data if data else None, initial={"customer_id": scope})
    context: dict[str, Any] = {"form": form, "scope": scope, "sac_minimum": SAC_MINIMUM_DAYS}
    if form.is_bound:
        if not form.is_valid():
            if request.method == "GET" and set(form.errors) == {"reason"}:
                pass  # the preview needs only the days: the reason comes with the POST
            else:
                return _first_error(request, form)
        days = form.cleaned_data["days"]
        customer_id = form.cleaned_data.get("customer_id")
        if scope is not None and customer_id not in (None, scope):
            raise Http404
        customer_id = scope if scope is not None else customer_id
        if request.method == "POST":
            try:
                policy = retention.policy_request(
                    actor=request.user,
                    days=days,
                    customer_id=customer_id,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except retention.RetentionError as exc:
                context["refusal"] = str(exc)
            else:
                messages.success(request, _("Política pedida. Outra pessoa precisa aprová-la."))
                return redirect("retention_policy_detail", pk=policy.pk)
        context.update(
            days=days,
            customer_id=customer_id,
            preview=retention.run_preview(customer_id=customer_id, days=days),
            current=retention.policy_in_force(customer_id),
        )
    return render(request, "retention/policy_new.html", context)


def _policy(request: AuthedRequest, pk: int) -> RetentionPolicy:
    policy = retention.visible_policies(request.user).filter(pk=pk).first()
    if policy is None:
        raise Http404
    return policy


@require_GET
@login_required
@manager_only
def retention_policy_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    policy = _policy(request, pk)
    if retention.policies_expire_due():
        policy.refresh_from_db()
    return render(request, "retention/policy_detail.html", _policy_context(request, policy))


def _policy_context(request: AuthedRequest, policy: RetentionPolicy) -> dict[str, Any]:
    return {
        "policy": policy,
        "preview": retention.run_preview(customer_id=policy.customer_id, days=policy.days),
        "current": retention.policy_in_force(policy.customer_id),
        "can_approve": retention.can_decide(policy, request.user),
        "can_cancel": retention.can_cancel(policy, request.user),
        "step_up": needs_step_up(auth_age_seconds(request)),
        "step_up_minutes": settings.DELETION_STEP_UP_MINUTES,
        "sac_minimum": SAC_MINIMUM_DAYS,
        "runs": DeletionRequest.objects.filter(
            kind=DeletionRequest.Kind.RETENTION, filters__policy=policy.pk
        ).order_by("-requested_at")[:20],
    }


@require_POST
@login_required
@manager_only
def retention_policy_approve(request: AuthedRequest, pk: int) -> HttpResponse:
    policy = _policy(request, pk)
    try:
        retention.policy_approve(
            policy_id=policy.pk,
            actor=request.user,
            password=request.POST.get("password", ""),
            auth_age_seconds=auth_age_seconds(request),
            request=request,
        )
    except retention.StepUpRequired as exc:
        context = _policy_context(request, policy)
        context["decide_error"] = str(exc)
        return render(request, "retention/policy_detail.html", context, status=400)
    except retention.RetentionError as exc:
        messages.error(request, str(exc))
    else:
        if request.POST.get("password"):
            request.session[AUTH_AT] = time.time()  # the password was just confirmed
        messages.success(request, _("Política aprovada. A execução diária exclui o que ela diz."))
    return redirect("retention_policy_detail", pk=policy.pk)


@require_POST
@login_required
@manager_only
def retention_policy_reject(request: AuthedRequest, pk: int) -> HttpResponse:
    policy = _policy(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _first_error(request, form)
    try:
        retention.policy_reject(
            policy_id=policy.pk,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            request=request,
        )
        messages.success(request, _("Pedido rejeitado."))
    except retention.RetentionError as exc:
        messages.error(request, str(exc))
    return redirect("retention_policy_detail", pk=policy.pk)


@require_POST
@login_required
@manager_only
def retention_policy_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    policy = _policy(request, pk)
    try:
        retention.policy_cancel(policy_id=policy.pk, actor=request.user, request=request)
        messages.success(request, _("Pedido cancelado."))
    except retention.RetentionError as exc:
        messages.error(request, str(exc))
    return redirect("retention_policy_detail", pk=policy.pk)


# --- legal holds ---


@require_http_methods(["GET", "POST"])
@login_required
@manager_only
def retention_hold_new(request: AuthedRequest) -> HttpResponse:
    scope = access.scope_of(request.user).customer_id
    form = HoldForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form, "scope": scope}
    if request.method == "POST":
        if not form.is_valid():
            return _first_error(request, form)
        data = form.cleaned_data
        if scope is not None and data["customer_id"] not in (None, scope):
            raise Http404
        try:
            hold = retention.hold_place(
                actor=request.user,
                terms=retention.HoldTerms(
                    number=data["number"],
                    record_ids=data["record_ids"],
                    customer_id=data["customer_id"],
                    period_start=data["period_start"],
                    period_end=data["period_end"],
                ),
                reason=data["reason"],
                ends_on=data["ends_on"],
                request=request,
            )
        except retention.RetentionError as exc:
            context["refusal"] = str(exc)
        else:
            messages.success(request, _("Retenção legal aplicada: vale a partir de agora."))
            return redirect("retention_hold_detail", pk=hold.pk)
    return render(request, "retention/hold_new.html", context)


def _hold(request: AuthedRequest, pk: int) -> LegalHold:
    hold = retention.visible_holds(request.user).filter(pk=pk).first()
    if hold is None:
        raise Http404
    return hold


def _hold_context(request: AuthedRequest, hold: LegalHold) -> dict[str, Any]:
    return {
        "hold": hold,
        "can_request_lift": retention.can_request_lift(hold, request.user),
        "can_lift": retention.can_lift(hold, request.user),
        "step_up": needs_step_up(auth_age_seconds(request)),
        "step_up_minutes": settings.DELETION_STEP_UP_MINUTES,
    }


@require_GET
@login_required
@manager_only
def retention_hold_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    retention.hold_lifts_expire_due()
    return render(request, "retention/hold_detail.html", _hold_context(request, _hold(request, pk)))


@require_POST
@login_required
@manager_only
def retention_hold_lift(request: AuthedRequest, pk: int) -> HttpResponse:
    hold = _hold(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _first_error(request, form)
    try:
        retention.hold_lift_request(
            hold_id=hold.pk,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            request=request,
        )
        messages.success(request, _("Liberação pedida. A retenção vale até outra pessoa aprovar."))
    except retention.RetentionError as exc:
        messages.error(request, str(exc))
    return redirect("retention_hold_detail", pk=hold.pk)


@require_POST
@login_required
@manager_only
def retention_hold_lift_approve(request: AuthedRequest, pk: int) -> HttpResponse:
    hold = _hold(request, pk)
    try:
        retention.hold_lift_approve(
            hold_id=hold.pk,
            actor=request.user,
            password=request.POST.get("password", ""),
            auth_age_seconds=auth_age_seconds(request),
            request=request,
        )
    except retention.StepUpRequired as exc:
        context = _hold_context(request, hold)
        context["decide_error"] = str(exc)
        return render(request, "retention/hold_detail.html", context, status=400)
    except retention.RetentionError as exc:
        messages.error(request, str(exc))
    else:
        if request.POST.get("password"):
            request.session[AUTH_AT] = time.time()
        messages.success(request, _("Retenção legal liberada."))
    return redirect("retention_hold_detail", pk=hold.pk)


@require_POST
@login_required
@manager_only
def retention_hold_lift_refuse(request: AuthedRequest, pk: int) -> HttpResponse:
    hold = _hold(request, pk)
    try:
        retention.hold_lift_refuse(hold_id=hold.pk, actor=request.user, request=request)
        messages.success(request, _("Liberação recusada: a retenção continua valendo."))
    except retention.RetentionError as exc:
        messages.error(request, str(exc))
    return redirect("retention_hold_detail", pk=hold.pk)
