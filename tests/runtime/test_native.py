"""Custom C/C++ processors: shared libraries with EAS's initialize()/process() ABI, built with gcc."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(120)


def native_args(library, *extra: str) -> list[str]:
    return ["--processor-type", "cpp", "--processor-path", str(library.parent), "--processor-entry", library.name,
            *extra]


def test_seed_echo_processor(start_server, native_libraries):
    server = start_server(native_args(native_libraries.echo))
    echoed = server.post(b"hello binary \xff")  # the seed uses strndup: not NUL-safe
    assert (echoed.status_code, echoed.content) == (200, b"hello binary \xff")
    empty = server.post(b"", path="/api/predict/echo")
    assert (empty.status_code, empty.text) == (400, "input data should not be empty")


def test_initialize_receives_model_entry_and_config(start_server, native_libraries, pmml_model):
    server = start_server(native_args(native_libraries.behaviour, "--model", str(pmml_model.parent),
                                      "--model-entry", pmml_model.name, "--model-config", "cfg"))
    assert server.post(b"abc").content == f"{pmml_model}|cfg|abc".encode()


@pytest.mark.parametrize(("code", "status"), [(0, 200), (200, 200), (404, 404), (503, 503), (999, 400), (77, 400)])
def test_return_codes_map_to_http_status(start_server, native_libraries, code, status):
    server = start_server(native_args(native_libraries.behaviour))
    assert server.post(f"code{code}".encode()).status_code == status


def test_segfault_is_contained_and_the_worker_restarted(start_server, native_libraries):
    server = start_server(native_args(native_libraries.behaviour, "--metadata", '{"rpc.worker_threads": 4}'))
    crashed = server.post(b"crash")
    assert crashed.status_code == 500
    assert "killed by SIGSEGV" in crashed.text
    assert server.post(b"after").status_code == 200
    assert server.health()[0] == 200
    assert "processor worker 0 died (killed by SIGSEGV); restarting" in server.log()


def test_failed_initialize_stops_start_up(start_server, native_libraries):
    server = start_server(native_args(native_libraries.behaviour, "--model-config", "fail"), ready=False)
    assert server.wait_exit(30) == 1
    assert "initialize() of libbehaviour.so failed with state 7" in server.log()
