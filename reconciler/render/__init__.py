"""Renderers: they read only the versioned JSON of plans, drift reports and state (human.py)."""
