"""Tests of the FVT data plugin."""
