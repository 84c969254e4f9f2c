"""The devices the local service offers: the catalogue and capability documents
(``data/*.json``), what a device accepts of a program (capabilities, pragmas, QPU
rules), regions, prices and the noise of emulated QPUs (``docs/devices.md``).
"""
