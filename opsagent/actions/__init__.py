"""Remediation: the declared action catalog (policy, execution and audit come with later milestones)."""
