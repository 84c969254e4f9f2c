"""Braket's operations as the local service answers them: the route table derived from
botocore's model, request validation against it, one handler per operation, the
Search* filters and pagination, and the spending limits checked at CreateQuantumTask.
"""
