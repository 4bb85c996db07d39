"""ODRL 2.2 usage policies: model, validation and evaluation against an access request.

Parse once with `parse_policy` (it validates and compiles every constraint), then call
`evaluate(policy, request)` on every data access. `policy_to_json` writes the compact
Dataspace Protocol 2025-1 form back. Left operands: the ODRL `dateTime`, `elapsedTime`,
`count`, `purpose`, `spatial`, `recipient`, `event` and `payAmount`, and this profile's
`ts:partnerRole`, `ts:classificationLevel` and `ts:membershipCredential`
(namespace `https://w3id.org/tracespace/policy/v1#`).
"""

from policies.classification import LEVEL_NAMES, parse_level
from policies.dsp import find_policies, parse_policies
from policies.errors import OdrlError, PolicyError, RequestError
from policies.evaluate import Decision, Reason, evaluate
from policies.model import (
    Constraint,
    Duty,
    LogicalConstraint,
    Permission,
    Policy,
    Prohibition,
    Rule,
)
from policies.parse import parse_policy
from policies.request import Credential, Request
from policies.serialize import constraint_to_json, policy_to_json, rule_to_json
from policies.vocabulary import ODRL, PROFILE, TS

__all__ = [
    "LEVEL_NAMES",
    "ODRL",
    "PROFILE",
    "TS",
    "Constraint",
    "Credential",
    "Decision",
    "Duty",
    "LogicalConstraint",
    "OdrlError",
    "Permission",
    "Policy",
    "PolicyError",
    "Prohibition",
    "Reason",
    "Request",
    "RequestError",
    "Rule",
    "constraint_to_json",
    "evaluate",
    "find_policies",
    "parse_level",
    "parse_policies",
    "parse_policy",
    "policy_to_json",
    "rule_to_json",
]
