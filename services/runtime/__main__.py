"""`python -m services.runtime`: start one instance server (what node agents and `eascmd test` run).

Exit codes: 0 after a graceful stop (SIGTERM/SIGINT), 1 when the model or processor cannot be
loaded or the port cannot be bound, 2 for an invalid configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from .config import PROCESSOR_TYPES, ConfigError, RuntimeConfig, parse_metadata_json, read_service_json

LOG_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)s %(process)d [%(name)s] %(message)s"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.runtime",
        description="EAS-compatible instance server: one processor behind an HTTP prediction endpoint.",
    )
    parser.add_argument("--service-json", help="run the service description in this file (eascmd test)")
    parser.add_argument("--processor", help="processor code, e.g. tensorflow_cpu_2.7, pytorch_cpu_1.6, pmml")
    parser.add_argument("--model", dest="model_path", help="model directory, file or local archive")
    parser.add_argument("--model-entry", help="entry file or directory inside --model")
    parser.add_argument("--model-config", help="model configuration text passed to the processor")
    parser.add_argument("--processor-path", help="custom processor directory, file or local archive")
    parser.add_argument("--processor-entry", help="custom processor entry (app.py, libprocessor.so, processor.jar)")
    parser.add_argument("--processor-type", choices=PROCESSOR_TYPES, help="custom processor language")
    parser.add_argument("--processor-mainclass", help="the Java processor's class, e.g. com.alibaba.eas.TestProcessor")
    parser.add_argument("--metadata", help="service metadata as JSON (nested rpc object or dotted rpc.* keys)")
    parser.add_argument("--warm-up-data", dest="warm_up_data_path", help="warm-up request file to replay")
    parser.add_argument("--warm-up-count", type=int, help="times each warm-up request is replayed (default 5)")
    parser.add_argument("--host", help="listen address (default 0.0.0.0)")
    parser.add_argument("--port", type=int, help="HTTP port (default 8080)")
    parser.add_argument("--grpc-port", type=int, help="TF Serving gRPC port for TensorFlow processors (0: off)")
    parser.add_argument("--model-name", help="model name reported by the TF Serving APIs (default: service name)")
    backend = parser.add_mutually_exclusive_group()
    backend.add_argument("--tf-serving-target", metavar="HOST:PORT",
                         help="run TensorFlow requests on this TF Serving PredictionService instead of in process")
    backend.add_argument("--tf-model-server", metavar="BINARY",
                         help="start this tensorflow_model_server binary for the model instead of in process")
    return parser


def config_from_args(args: argparse.Namespace) -> RuntimeConfig:
    """service.json fields first, then explicit flags on top (metadata keys are merged)."""
    fields = read_service_json(args.service_json) if args.service_json else {}
    metadata = dict(fields.pop("metadata", {}))
    metadata.update(parse_metadata_json(args.metadata))
    for name in (
        "processor", "model_path", "model_entry", "model_config", "processor_path", "processor_entry",
        "processor_type", "processor_mainclass", "warm_up_data_path", "warm_up_count", "host", "port",
        "grpc_port", "model_name", "tf_serving_target", "tf_model_server",
    ):
        value = getattr(args, name)
        if value is not None:
            fields[name] = value
    return RuntimeConfig(metadata=metadata, **fields)


def main(argv: list[str] | None = None) -> int:
    sys.stdout.reconfigure(line_buffering=True)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S", stream=sys.stdout)
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        logging.getLogger("services.runtime").error("%s", exc)
        return 2
    from .server import serve

    return asyncio.run(serve(config))


if __name__ == "__main__":
    sys.exit(main())
