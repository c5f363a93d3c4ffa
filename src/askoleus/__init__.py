"""askoleus: grounded, cited question answering over the OLEUS blog articles."""

__version__ = "0.1.0"

DISCLAIMER = (
    "This statement has not been evaluated by the Food and Drug Administration. "
    "This product is not intended to diagnose, treat, cure, or prevent any disease."
)
