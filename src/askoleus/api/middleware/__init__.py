"""Pure ASGI middlewares, one per module, stacked by create_app (outermost first):
Observe → CORS → SecurityHeaders → InternalError → Admission → the routes.

Observe gives every request its id first; every response, errors of the inner layers included,
then passes CORS and the security headers on its way out."""

from askoleus.api.middleware.admission import AdmissionMiddleware
from askoleus.api.middleware.internal_error import InternalErrorMiddleware
from askoleus.api.middleware.observe import ObserveMiddleware
from askoleus.api.middleware.security_headers import SecurityHeadersMiddleware

__all__ = ["AdmissionMiddleware", "InternalErrorMiddleware", "ObserveMiddleware", "SecurityHeadersMiddleware"]
