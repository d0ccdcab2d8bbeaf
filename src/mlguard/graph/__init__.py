"""The estate map: the ML estate as a graph of resources and the relations mlguard knows.

Nodes are the resources of the estate's types (:data:`mlguard.graph.rules.STAGES`: data ->
training -> models -> serving, and identity/other); edges come from two declarative sources, the
reference fields of :data:`mlguard.graph.rules.REFERENCES` (endpoint -> endpoint config -> model ->
image repository...) and the ``join:`` declarations of the loaded policies (key fields relating two
types, across providers too: a Unity Catalog external location -> its S3 bucket). Each edge says
why it exists. Each node carries the summary of its findings.

``build.estate_of`` computes the links from an inventory (the scan stores them in its results as
``estate``); ``build.graph_of`` joins them with a scan's findings; ``export`` writes JSON, GraphML
and DOT; the HTML report draws the same graph (:mod:`mlguard.report.estate_map`).
"""
