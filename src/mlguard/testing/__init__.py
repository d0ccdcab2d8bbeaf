"""The golden-test kit for policies (:mod:`mlguard.testing.golden`): run a policy on a small
inventory fixture and compare each resource's status with the expected one, for mlguard's own
policies and for yours.

The local fakes ``mlguard scan --demo`` runs on are in :mod:`mlguard.demo`.
"""
