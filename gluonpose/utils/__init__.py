"""Utilities: metrics, learning-rate schedules, drawing, export."""
