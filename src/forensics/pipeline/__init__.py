"""The per-file analysis of an ingest: the steps a worker computes (file_analysis), how their results become
records (analyses), where they run (runners: threads, processes, Dask), the time-limited worker processes that
read hostile files (isolation), and the cross-case index a batch keeps (crosscase).
"""
