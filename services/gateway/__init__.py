"""The data plane: `/api/predict/<service>` on its own ASGI process (port 8080)."""
