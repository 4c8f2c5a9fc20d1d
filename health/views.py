from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from health import services


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """``{"status": "ok"}`` or ``{"status": "degraded"}``: nothing else for anyone.

    503 only when this instance cannot serve (database or cache down), so a load balancer
    takes it out and Docker marks it unhealthy; an upstream outage is "degraded" with 200,
    since every instance shares it and the portal still serves everything but the calls.
    Details (``?details=1``) only for a signed-in user who may read the audit log.
    """
    health = services.check_health()
    body: dict[str, Any] = {"status": "ok" if health.ok else "degraded"}
    if request.GET.get("details") == "1" and request.user.has_perm("recordings.view_audit_log"):
        body.update(_details(health))
    return JsonResponse(body, status=200 if health.serving else 503)


def _details(health: services.Health) -> dict[str, Any]:
    upstream = health.upstream
    return {
        "database": health.database,
        "cache": health.cache,
        "upstream": "unknown" if upstream is None else ("ok" if upstream.ok else "degraded"),
        "upstream_reason": upstream.reason if upstream is not None else "",
        "upstream_checked_seconds_ago": round(upstream.age(), 1) if upstream else None,
        "probe_interval_seconds": services.PROBE_SECONDS,
    }
