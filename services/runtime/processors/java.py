"""The EAS Java processor contract, run in a JVM inside an isolated worker process (JPype):

    public TestProcessor(String modelEntry, String modelConfig)
    public void Load()
    public byte[] Process(byte[] input)      // or String

The class named by `processor_mainclass` is loaded from the `processor_entry` jar, with every
other jar of the processor package on the classpath (its dependencies). An exception thrown by
Process() answers 400 with the exception's message, as EAS does. The JVM is started with -Xrs so
it leaves SIGTERM to the worker, which stops only when the instance server closes its socket.
"""

from __future__ import annotations

from pathlib import Path

import jpype


class JavaProcessorError(RuntimeError):
    pass


class JavaProcessFailed(RuntimeError):
    """Process() threw; the message is what the client gets with the 400."""


def classpath(entry: Path, root: Path) -> list[str]:
    """The entry jar first, then the package's other jars (dependencies) in a stable order."""
    others = sorted(str(jar) for jar in root.rglob("*.jar") if jar.resolve() != entry.resolve())
    return [str(entry), *others]


def _message(exc: jpype.JException) -> str:
    return str(exc.getMessage() or exc.toString())


class JavaProcessor:
    def __init__(self, entry: Path, root: Path, mainclass: str, model_entry: str, model_config: str) -> None:
        try:
            jvm = jpype.getDefaultJVMPath()
        except jpype.JVMNotFoundException:
            raise JavaProcessorError("no Java runtime found on this machine: install a JRE (Debian: "
                                     "default-jre-headless) or set JAVA_HOME") from None
        jpype.startJVM(jvm, "-Xrs", classpath=classpath(entry, root), convertStrings=False)
        try:
            processor_class = jpype.JClass(mainclass)
        except TypeError:
            raise JavaProcessorError(f"processor_mainclass: {mainclass} is not in {entry.name} or the "
                                     "package's other jars") from None
        try:
            self._instance = processor_class(model_entry, model_config)
        except TypeError as exc:
            raise JavaProcessorError(f"{mainclass} needs a public constructor (String modelEntry, String "
                                     f"modelConfig): {exc}") from None
        except jpype.JException as exc:
            raise JavaProcessorError(f"{mainclass} constructor threw: {_message(exc)}") from None
        try:
            self._instance.Load()
        except AttributeError:
            raise JavaProcessorError(f"{mainclass} has no public Load() method") from None
        except jpype.JException as exc:
            raise JavaProcessorError(f"{mainclass}.Load() threw: {_message(exc)}") from None

    def process(self, body: bytes) -> tuple[int, bytes]:
        try:
            result = self._instance.Process(body)
        except jpype.JException as exc:
            raise JavaProcessFailed(_message(exc)) from None
        if result is None:
            return 200, b""
        if isinstance(result, jpype.JString):
            return 200, str(result).encode()
        return 200, bytes(result)
