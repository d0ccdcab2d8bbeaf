"""mlguard: governance and compliance scanner for ML infrastructure on AWS and Databricks."""

__version__ = "0.1.0"
