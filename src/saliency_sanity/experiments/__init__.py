"""Experiments: compute results from data and trained models; write arrays, tables and claims."""
