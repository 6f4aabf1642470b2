"""Verdicts: turning measurements into pass / warn / fail checks."""
