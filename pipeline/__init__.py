"""Pipeline stages: pure functions from schema objects to schema objects.

No Prefect, no file layout, no global state here: `flows/` wires these together and owns all I/O.
"""
