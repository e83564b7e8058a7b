"""The live topic the jobs app publishes (`live.services.publish`); see vms/topics.py."""

from __future__ import annotations

JOB_TOPIC = "job"  # a job's progress card (its page) and its row on the jobs list
