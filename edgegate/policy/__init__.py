"""The policy file (``edgegate.yml``).

``edgegate.policy.load.load_policy(path)`` reads and validates it (pydantic, inside this
package only) and returns a ``Policy`` of the frozen values in ``edgegate.policy.sections``:
defaults applied, quantities parsed, each section with the key and line it was written at.
Nothing here is imported eagerly, so ``edgegate.policy.sections`` stays light.
"""
