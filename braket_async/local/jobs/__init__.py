"""Hybrid jobs: the job queue and the runner protocol, and the default runner that runs
a job's script under a supervisor with the job container's environment, logs and
results (``docs/jobs.md``).
"""
