"""Letters to families and packs for crews: report stages that render a solved run.

They compute nothing new: every figure comes from the run folder and its data folder. Names
and addresses come only from a ``--contacts`` file at letter time and go into the letters alone.
"""

from transport.letters.job import write_letters

__all__ = ["write_letters"]
