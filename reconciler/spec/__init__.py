"""Desired state: the spec's models (models.py) and loading with source positions (loader.py)."""

from reconciler.spec.loader import LoadedSpec, load_spec
from reconciler.spec.models import Spec

__all__ = ["LoadedSpec", "Spec", "load_spec"]
