"""Pure ASGI middlewares, one per module, listed outermost first as create_app stacks them."""

from askoleus.api.middleware.body_limit import BodyLimitMiddleware
from askoleus.api.middleware.in_flight import InFlightMiddleware
from askoleus.api.middleware.observe import ObserveMiddleware
from askoleus.api.middleware.security_headers import SecurityHeadersMiddleware

__all__ = ["BodyLimitMiddleware", "InFlightMiddleware", "ObserveMiddleware", "SecurityHeadersMiddleware"]
