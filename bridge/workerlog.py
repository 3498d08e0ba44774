"""The Celery worker's logging: every line once, at its own level, with no secret in it."""

from __future__ import annotations

import logging

from celery.signals import after_setup_logger, after_setup_task_logger, worker_process_init
from flask.logging import default_handler

from bridge.logsafe import SCRUB


def scrub_every_handler() -> None:
    """Put the scrubber on every handler of every logger: a logger's own filter misses records its children propagate."""
    loggers = [logging.getLogger(), *(item for item in logging.Logger.manager.loggerDict.values() if isinstance(item, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            handler.addFilter(SCRUB)


def one_copy_of_each_line() -> None:
    """Drop Flask's stderr handler from our loggers: the worker turns stderr into WARNING lines, so each line came out twice."""
    logging.getLogger("bridge").removeHandler(default_handler)


def no_line_per_finished_task() -> None:
    """Drop Celery's INFO line for every task that finished or will retry: the worker logs each delivery's outcome itself."""
    # Every task returns None, so "succeeded in 0.01s: None" says nothing that line does not, and writing
    # (and scrubbing) it cost a few percent of a message's CPU. Celery's warnings and errors still come through,
    # and so does its "received" line (it tells which worker took a task; the soak counts them).
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)


@after_setup_logger.connect(weak=False)
@after_setup_task_logger.connect(weak=False)
@worker_process_init.connect(weak=False)
def tidy_worker_logging(**kwargs) -> None:
    """Once Celery has set up its loggers (in the main process and again in each pool process), make them safe and single."""
    one_copy_of_each_line()
    no_line_per_finished_task()
    scrub_every_handler()
