"""Changed models: which models a change touched, and their head and base versions on disk.

``select.find_changes`` decides what to gate from git (``git.GitRepo``) and the policy;
``select.ModelMaterializer`` gives local paths to read both versions from. See docs/changes.md.
"""
