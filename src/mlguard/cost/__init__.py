"""Cost of findings in GPU-hours, node-hours and (from real prices only) dollars.

How a cost policy's waste is measured is data in the policy (its ``cost:`` block, :mod:`.spec`);
:mod:`.figures` turns each FAIL into a :class:`~mlguard.cost.model.Cost`, :mod:`.pricing` prices
it from a user's price file or the AWS Price List API, and :mod:`.summary` totals it for reports.
A figure whose input was not read is unknown (``None``), never zero.
"""
