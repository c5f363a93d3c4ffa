"""FastAPI dependencies: how a route reaches the app's services and checks its caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from askoleus.api.state import IndexHolder, Metrics, Services
from askoleus.asking import Asking
from askoleus.config import Settings
from askoleus.qlog_store import LogStore


def get_services(request: Request) -> Services:
    """The Services the lifespan created (the one thing app.state holds)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    """The app's settings."""
    return services.settings


def get_holder(services: ServicesDep) -> IndexHolder:
    """The holder of the served index generation."""
    return services.holder


def get_asking(services: ServicesDep) -> Asking:
    """The one ask path."""
    return services.asking


def get_qlog(services: ServicesDep) -> LogStore:
    """The question log."""
    return services.qlog


def get_metrics(services: ServicesDep) -> Metrics:
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


CallerDep = Annotated[Caller, Depends()]
