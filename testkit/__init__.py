"""Test support shared by tests/ and bench/: synthetic models, reference pipelines, hostile inputs, server fixtures."""
