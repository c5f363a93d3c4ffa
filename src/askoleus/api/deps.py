"""FastAPI dependencies: how a route reaches the app's services and checks its caller.

All are `async def`: FastAPI runs a plain `def` dependency in a worker thread, and these only read
attributes, so the thread hand-off would cost more than the work (two per request).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from askoleus.api.state import IndexHolder, Metrics, Services
from askoleus.asking import Asking
from askoleus.config import Settings
from askoleus.qlog_store import LogStore


async def get_services(request: Request) -> Services:
    """The Services the lifespan created (the one thing app.state holds)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_settings(services: ServicesDep) -> Settings:
    """The app's settings."""
    return services.settings


async def get_holder(services: ServicesDep) -> IndexHolder:
    """The holder of the served index generation."""
    return services.holder


async def get_asking(services: ServicesDep) -> Asking:
    """The one ask path."""
    return services.asking


async def get_qlog(services: ServicesDep) -> LogStore:
    """The question log."""
    return services.qlog


async def get_metrics(services: ServicesDep) -> Metrics:
    """The app's Prometheus metrics."""
    return services.metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
HolderDep = Annotated[IndexHolder, Depends(get_holder)]
AskingDep = Annotated[Asking, Depends(get_asking)]
QuestionLogDep = Annotated[LogStore, Depends(get_qlog)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


class Caller:
    """The client of one request: its rate limit and its keys, checked where the route decides."""

    def __init__(self, request: Request, services: ServicesDep) -> None:
        self.request = request
        self.services = services

    @property
    def client(self) -> str:
        """The client address AdmissionMiddleware decided on (peer, or X-Forwarded-For from a trusted proxy)."""
        return str(self.request.scope.get("state", {}).get("client", "unknown"))

    def take_token(self) -> None:
        """Count the request against the client's rate limit (RateLimited past it)."""
        self.services.limiter.check(self.client)

    def require_staff(self) -> None:
        """The staff key, or Unauthorized (RateLimited after too many wrong keys)."""
        self.services.keys.require(self.request, self.client, self.services.settings.staff_key, "staff")

    def require_admin(self) -> None:
        """The admin key, or Unauthorized (RateLimited after too many wrong keys)."""
        self.services.keys.require(self.request, self.client, self.services.settings.admin_key, "admin")

    @property
    def request_id(self) -> str:
        """The id ObserveMiddleware gave this request."""
        return str(getattr(self.request.state, "request_id", ""))


async def get_caller(request: Request, services: ServicesDep) -> Caller:
    """The request's caller."""
    return Caller(request, services)


CallerDep = Annotated[Caller, Depends(get_caller)]
