"""Custom Java processors: a jar with the seed's class shape (constructor, Load(), Process(byte[])),
compiled with javac and run in a JVM inside the isolated worker."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.timeout(120)

MAIN_CLASS = "com.alibaba.eas.TestProcessor"


def java_args(jar, main_class: str = MAIN_CLASS, *extra: str) -> list[str]:
    return ["--processor-type", "java", "--processor-path", str(jar.parent), "--processor-entry", jar.name,
            "--processor-mainclass", main_class, *extra]


def test_process_gets_model_entry_config_and_dependency_jars(start_server, java_processor, pmml_model):
    server = start_server(java_args(java_processor, MAIN_CLASS, "--model", str(pmml_model.parent),
                                    "--model-entry", pmml_model.name, "--model-config", "cfg"))
    answer = server.post(b"abc \xff")
    assert (answer.status_code, answer.content) == (200, f"{pmml_model}|cfg|abc \xff".encode("latin-1"))


def test_an_exception_answers_400_with_its_message(start_server, java_processor):
    server = start_server(java_args(java_processor))
    failed = server.post(b"boom")
    assert (failed.status_code, failed.text) == (400, "bad json format, boom")
    assert server.post(b"after").status_code == 200


def test_requests_run_on_worker_threads_at_once(start_server, java_processor):
    server = start_server(java_args(java_processor, MAIN_CLASS, "--metadata", '{"rpc.worker_threads": 4}'))
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: server.post(b"sleep").status_code, range(4)))
    assert statuses == [200] * 4
    assert int(server.post(b"most").text) >= 2


def test_a_string_result_is_sent_as_utf8(start_server, java_processor):
    server = start_server(java_args(java_processor, "com.alibaba.eas.StringProcessor"))
    assert server.post(b"12345").text == "length=5"


@pytest.mark.parametrize(("main_class", "extra", "message"), [
    (MAIN_CLASS, ("--model-config", "fail"), "com.alibaba.eas.TestProcessor.Load() threw: model config says fail"),
    ("com.alibaba.eas.Missing", (), "processor_mainclass: com.alibaba.eas.Missing is not in processor.jar"),
])
def test_a_processor_that_cannot_load_stops_start_up(start_server, java_processor, main_class, extra, message):
    server = start_server(java_args(java_processor, main_class, *extra), ready=False)
    assert server.wait_exit(60) == 1
    assert message in server.log()
