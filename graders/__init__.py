"""Graders: prediction validation, metrics, scoring. Pure: no Flask, no Docker, no DB."""
