"""`BaseProcessor`: the custom Python processor API of EAS (allspark), for user code.

Code written for EAS runs with only its import changed:

    import services.runtime.processor as allspark   # instead of `import allspark`

    class MyProcessor(allspark.BaseProcessor):
        def initialize(self): ...
        def process(self, data): return b"result", 200

    if __name__ == "__main__":
        MyProcessor(worker_threads=10).run()

Deployed through the platform (`processor_type: python`), even `import allspark` works unchanged:
the worker process puts a compatibility `allspark` module on sys.path.

`run()` started by hand serves the class on `endpoint` (default 0.0.0.0:8080) with the full
instance server. Either way the code runs in isolated worker processes (`worker_processes` of
them, each calling `initialize()` once), so a crash in user code never takes the server down.
"""

from __future__ import annotations

import threading

_request_context = threading.local()


class BaseProcessor:
    def __init__(self, worker_threads: int = 5, worker_processes: int = 1, endpoint: str | None = None) -> None:
        self.worker_threads = worker_threads
        self.worker_processes = worker_processes
        self.endpoint = endpoint
        self.model_path: str = ""
        self.model_config: str = ""

    def initialize(self) -> None:
        """Load models once per worker process, before the first request."""

    def pre_process(self, data):
        return data

    def post_process(self, data):
        return data

    def process(self, data: bytes):
        """Answer one request body with `(response bytes, status)`; status 0 or 200 means success."""
        raise NotImplementedError("subclasses of BaseProcessor must implement process(data)")

    @property
    def request_path(self) -> str:
        """Sub-path of the request being processed in this thread (e.g. "/test" for
        /api/predict/<service>/test)."""
        return getattr(_request_context, "path", "/")

    def run(self) -> None:
        """Serve this processor: inside a platform worker process, answer the instance server;
        started by hand, run a whole instance server on `endpoint`."""
        from .processors import worker

        if worker.hosted():
            worker.serve_python(self)
        else:
            worker.serve_standalone(self)


def set_request_path(path: str) -> None:
    _request_context.path = path
