"""Engines move corpus batches through a scanner; they decide where work runs, never what it computes."""
