"""The stack's limit: the same Flask and gunicorn, an endpoint that reads the body and answers 204."""

from flask import Flask, request

app = Flask(__name__)


@app.post("/hooks/<route_name>")
def receive(route_name: str):
    """Read the body (any real endpoint must) and do nothing else."""
    request.get_data(cache=False)
    return "", 204


@app.get("/healthz")
def healthz():
    """Readiness for the orchestrator."""
    return {"ok": True}
