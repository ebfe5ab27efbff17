"""A stand-in instance server for gateway tests: `python tests/gateway/upstream.py NAME PORT`.

  GET  /health               200, or 503 after POST /_control/health/fail (until /_control/health/ok)
  POST /echo                 the body back, with the request's Content-Type
  POST /chunked              the body back in three chunks (chunked transfer encoding)
  body "status:<code>"       answers <code> with a text body (any path)
  body "sleep:<seconds>"     answers after sleeping
  GET or empty body          a model-structure JSON
  anything else              JSON: this instance's name, the path and query, the body, the Authorization
"""
import asyncio
import json
import sys

from aiohttp import web

NAME, PORT = sys.argv[1], int(sys.argv[2])
state = {"healthy": True}


async def health(_):
    return web.json_response({"status": "ready" if state["healthy"] else "failing"},
                             status=200 if state["healthy"] else 503)


async def control(request):
    state["healthy"] = request.match_info["verdict"] == "ok"
    return web.json_response(state)


async def predict(request):
    body = await request.read()
    if request.path == "/chunked":
        response = web.StreamResponse(headers={"Content-Type": "application/x-chunks"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (body[:1], body[1:2], body[2:]):
            await response.write(part)
        await response.write_eof()
        return response
    if request.path == "/echo":
        return web.Response(body=body, headers={"Content-Type": request.headers.get("Content-Type", "")})
    if body.startswith(b"status:"):
        code = int(body[7:])
        return web.Response(text=f"{NAME} answers {code}", status=code)
    if body.startswith(b"sleep:"):
        await asyncio.sleep(float(body[6:]))
    if request.method == "GET" or not body:
        return web.json_response({"signature_name": "serving_default", "inputs": [{"name": "x"}], "instance": NAME})
    return web.Response(text=json.dumps({
        "instance": NAME, "path": request.path_qs, "body": body.decode(errors="replace"),
        "authorization": request.headers.get("Authorization", ""),
    }), content_type="application/json")


app = web.Application(client_max_size=1024**3)
app.router.add_get("/health", health)
app.router.add_post("/_control/health/{verdict}", control)
app.router.add_route("*", "/{tail:.*}", predict)
web.run_app(app, host="127.0.0.1", port=PORT, access_log=None, print=None)
