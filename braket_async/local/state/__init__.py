"""What a running local service holds and a reset clears: the in-memory records (tasks,
jobs, tags, limits), the ledger of calls, the rate quotas and the injected faults.
"""
