"""EAS instance server: one processor (TensorFlow, PyTorch, PMML, custom Python or C/C++) behind an
HTTP prediction endpoint with EAS's queueing, timeout and batching semantics.

Run it with `python -m services.runtime --help`; see docs/runtime.md for the contract.
"""
