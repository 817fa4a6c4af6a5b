"""Ingestion job gauges read from the job table at scrape time, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from core.metrics import IngestionJobs
from services.rag.dependencies import job_stats
from services.rag.jobs import JobBoard


def samples(collector) -> dict:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value for family in collector.collect() for s in family.samples
    }


def test_jobs_by_status_and_the_oldest_queued_age(engine):
    clock = [1_000.0]
    board = JobBoard(engine, clock=lambda: clock[0])
    collector = IngestionJobs(lambda: job_stats(engine))
    assert samples(collector) == {("agenthub_ingestion_oldest_queued_seconds", ()): 0.0}
    first = board.create({"owner_id": "a", "document_id": "d1", "title": "t"})
    clock[0] += 50
    board.create({"owner_id": "b", "document_id": "d2", "title": "t"})
    board.acquire(first)  # the oldest is running now: the other one is the oldest queued
    values = samples(collector)
    assert values[("agenthub_ingestion_jobs", (("status", "queued"),))] == 1
    assert values[("agenthub_ingestion_jobs", (("status", "running"),))] == 1
    assert abs(values[("agenthub_ingestion_oldest_queued_seconds", ())] - (time.time() - 1_050)) < 60


def test_a_failing_database_yields_no_series_instead_of_a_failed_scrape(engine):
    def broken():
        raise ConnectionError("database down")

    assert list(IngestionJobs(broken).collect()) == []
