"""The engine: resolve -> refresh -> diff -> plan -> apply, and drift (the plan's comparison, reported).

Import from the submodules (engine.plan, engine.planner, engine.apply, engine.drift); this package
imports nothing eagerly, so the plan's plain data (engine.plan) can be used without the rest.
"""
