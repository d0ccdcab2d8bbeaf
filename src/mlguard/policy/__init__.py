"""The policy language: loading, validation, conditions and the one evaluator."""
