"""Running a task's program: the executor that hands tasks to a pool of simulator worker
processes, the worker side (OpenQASM/JAQCD on the default simulator, AHS, the adjoint
gradient, program sets), the limits per task, and the synthetic executor for load runs.
"""
