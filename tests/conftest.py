import time
from unittest import mock

import pytest

from console.celery import app as celery_app
from tests import harness


@pytest.fixture(scope="session")
def process_log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("process-logs")


@pytest.fixture(scope="session")
def clean_broker(django_db_setup):
    """Drop tasks a previous, interrupted run may have left in the queues."""
    celery_app.control.purge()


@pytest.fixture(scope="session")
def control_worker(django_db_setup, django_db_blocker, clean_broker, process_log_dir, web_server):
    """A real control worker process on the test database. It signs download links of the
    embedded model store for the web server below, as the platform's worker does for its console."""
    with django_db_blocker.unblock():
        worker = harness.control_worker(process_log_dir, EAS_CONSOLE_URL=web_server.base_url)
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def web_server(django_db_setup, django_db_blocker, process_log_dir):
    """A real web process (uvicorn on console.asgi) on the test database; yields its base URL."""
    port = harness.free_port()
    with django_db_blocker.unblock():
        server = harness.web_server(process_log_dir, port)
    server.base_url = f"http://127.0.0.1:{port}"
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def close_leftover_connections(django_db_setup, django_db_blocker):
    """Processes killed by tests (SIGKILL on purpose) leave their PostgreSQL sessions behind for
    a while; end them so that the test database can be dropped at the end of the run."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture(scope="session", autouse=True)
def flush_survives_deadlocks():
    """Transactional tests end by truncating every table while session-long processes (the control
    worker finishing a reconcile, an agent's heartbeat) may still write; PostgreSQL then aborts one
    side with a deadlock. When it aborts the flush, flush again: the other side has finished."""
    from django.core.management.base import CommandError
    from django.db import OperationalError
    from django.test import TransactionTestCase

    flush = TransactionTestCase._fixture_teardown

    def flush_again_after_deadlock(test_case):
        for attempt in range(5):
            try:
                return flush(test_case)
            except CommandError as exc:
                if attempt == 4 or not isinstance(exc.__cause__, OperationalError):
                    raise
                time.sleep(0.2 * (attempt + 1))

    with mock.patch.object(TransactionTestCase, "_fixture_teardown", flush_again_after_deadlock):
        yield
