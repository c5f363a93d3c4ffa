"""Answer stage: routing, sentence extraction, citations and the disclaimer."""

from .models import Answer, Citation, Related, Status, Study
from .service import Answerer, warm

__all__ = ["Answer", "Answerer", "Citation", "Related", "Status", "Study", "warm"]
