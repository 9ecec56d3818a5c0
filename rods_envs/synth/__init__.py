"""Verified task variants: mutations of a task's plan DAG and skill-aligned resampling."""

from .mutations import MUTATIONS
from .phrasing import Paraphraser
from .synthesizer import Synthesizer, matches

__all__ = ["MUTATIONS", "Paraphraser", "Synthesizer", "matches"]
