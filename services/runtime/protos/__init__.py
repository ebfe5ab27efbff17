"""Protobuf messages of the EAS prediction protocols (generated `_pb2` modules are committed).

Regenerate after editing a `.proto`, from the repository root:
    python -m grpc_tools.protoc -I. --python_out=. services/runtime/protos/<name>.proto
"""
