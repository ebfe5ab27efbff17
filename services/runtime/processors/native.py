"""The EAS C/C++ processor ABI, called through ctypes (inside an isolated worker process):

    void *initialize(const char *model_entry, const char *model_config, int *state);
    int process(void *model_buf, const void *input_data, int input_size,
                void **output_data, int *output_size);

`state` 0 means loaded. `output_data` is heap memory allocated by the processor (malloc/strndup);
it is copied and released with free() here, as the ABI hands its ownership to the caller. ctypes
releases the GIL during the calls, so worker threads run `process` concurrently, as EAS does.
"""

from __future__ import annotations

import ctypes
from pathlib import Path


class NativeProcessorError(RuntimeError):
    pass


class NativeProcessor:
    def __init__(self, library: Path, model_entry: str, model_config: str) -> None:
        try:
            self._library = ctypes.CDLL(str(library))
        except OSError as exc:
            raise NativeProcessorError(f"cannot load {library}: {exc}") from None
        for symbol in ("initialize", "process"):
            if not hasattr(self._library, symbol):
                raise NativeProcessorError(f"{library.name} does not export {symbol}()")
        self._library.initialize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
        self._library.initialize.restype = ctypes.c_void_p
        self._library.process.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.POINTER(ctypes.c_int),
        ]
        self._library.process.restype = ctypes.c_int
        self._free = ctypes.CDLL(None).free
        self._free.argtypes = [ctypes.c_void_p]
        self._free.restype = None
        state = ctypes.c_int(0)
        self._model = self._library.initialize(model_entry.encode(), model_config.encode(), ctypes.byref(state))
        if state.value != 0:
            raise NativeProcessorError(f"initialize() of {library.name} failed with state {state.value}")

    def process(self, body: bytes) -> tuple[int, bytes]:
        output = ctypes.c_void_p()
        size = ctypes.c_int(0)
        status = self._library.process(self._model, body, len(body), ctypes.byref(output), ctypes.byref(size))
        if not output.value:
            return status, b""
        try:
            return status, ctypes.string_at(output.value, max(size.value, 0))
        finally:
            self._free(output.value)
