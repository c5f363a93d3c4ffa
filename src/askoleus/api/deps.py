"""FastAPI dependencies: how a route reaches the app's services and checks its caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from askoleus.api.security import check_key
from askoleus.api.state import IndexHolder, Metrics, Services
from askoleus.asking import Asking
from askoleus.config import Settings
from askoleus.qlog import QuestionLog


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


def get_qlog(services: ServicesDep) -> QuestionLog:
    """The question log."""
    return services.qlog


def get_metrics(services: ServicesDep) -> Metrics:
    """The app's Prometheus metrics."""
    return services.metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
HolderDep = Annotated[IndexHolder, Depends(get_holder)]
AskingDep = Annotated[Asking, Depends(get_asking)]
QuestionLogDep = Annotated[QuestionLog, Depends(get_qlog)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


class Caller:
    """The client of one request: its rate limit and its keys, checked where the route decides."""

    def __init__(self, request: Request, services: ServicesDep) -> None:
        self.request = request
        self.services = services

    def take_token(self) -> None:
        """Count the request against the client's rate limit (RateLimited past it)."""
        self.services.limiter.check(self.services.client_id(self.request))

    def require_staff(self) -> None:
        """The staff key, or Unauthorized."""
        check_key(self.request, self.services.settings.staff_key)

    def require_admin(self) -> None:
        """The admin key, or Unauthorized."""
        check_key(self.request, self.services.settings.admin_key)

    @property
    def request_id(self) -> str:
        """The id ObserveMiddleware gave this request."""
        return str(getattr(self.request.state, "request_id", ""))


CallerDep = Annotated[Caller, Depends()]
