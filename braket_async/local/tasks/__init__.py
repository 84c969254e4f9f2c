"""A quantum task's lifecycle: the scheduler that takes a created task through QUEUED and
RUNNING to a terminal status on the simulation, the concurrent-task quota, cancel, and
the queues and availability windows of emulated QPUs.
"""
