# One image for the web (gunicorn) and the worker (celery); docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY app.py gunicorn.conf.py ./
COPY bridge ./bridge
COPY templates ./templates
# Real payloads: `python -m bridge check` renders them through your templates.
COPY tests/fixtures ./tests/fixtures

RUN useradd --system --uid 10001 hookdock
USER hookdock

EXPOSE 8000
# gunicorn.conf.py: gevent workers, header timeout, an access log without secrets (as `python -m bridge serve` runs it).
CMD ["gunicorn", "--config", "gunicorn.conf.py", "app:app", "--bind", "0.0.0.0:8000"]
