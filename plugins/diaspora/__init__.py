"""Diaspora data warehouse: extract, land, validate and load diaspora statistics.

Everything here is importable without Airflow; the DAG files in ``dags/`` only wire
these functions into tasks.
"""

__version__ = "0.1.0"
