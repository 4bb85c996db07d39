"""The green fibre chain: a multi-party textile supply chain the demo runs on real nodes.

`parties` names who takes part, `chain` holds the identifiers and documents each party
produces, `network` starts and stops the node processes, `steps` drives the scenario
through the nodes' public HTTP APIs.
"""
