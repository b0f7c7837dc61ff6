"""Refresh, diff, order, plan, apply, drift.

Data flows one way: spec -> desired resources -> refresh (observed) -> diff -> plan -> apply -> state.
"""

from reconciler.engine.apply import apply_plan, check_current
from reconciler.engine.drift import DriftReport, detect_drift
from reconciler.engine.plan import Action, Change, Plan
from reconciler.engine.planner import make_plan

__all__ = ["Action", "Change", "DriftReport", "Plan", "apply_plan", "check_current", "detect_drift", "make_plan"]
