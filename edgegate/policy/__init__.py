"""The policy file (``edgegate.yml``): schema, loading with line numbers, and resolution.

``load_policy(path)`` returns a ``Policy`` whose ``models`` are fully resolved (defaults
applied, quantities parsed to numbers) or raises ``PolicyError`` listing every problem.
"""

from edgegate.policy.load import load_policy
from edgegate.policy.resolved import Policy, ResolvedModel

__all__ = ["load_policy", "Policy", "ResolvedModel"]
