"""`import allspark` for EAS Python processors: the BaseProcessor of this runtime under EAS's name."""

from services.runtime.processor import BaseProcessor

__all__ = ["BaseProcessor"]
