"""pytest plugin: tasks run eagerly in every test except those marked ``services``.

With CELERY_BROKER_URL set (the PostgreSQL + Redis pass of bin/test), settings make Celery send
tasks to Redis. Ordinary tests are written for the eager mode of the SQLite pass — they call
``.delay(...).get()`` inside a test transaction no worker could see — so here they get eager
execution back, and only the ``services`` tests, which start a real worker, talk to the broker.

Registered with ``-p tests.plugins.services`` by bin/test, and/or ``pytest_plugins`` in
tests/conftest.py so that a bare ``pytest`` with CELERY_BROKER_URL set behaves the same.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _eager_tasks_outside_services_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("services"):
        yield
        return
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = previous
