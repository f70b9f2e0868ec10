"""Place: which school each pupil attends, under a policy; and where to add places.

``policies`` holds the contract's placement policies; ``capacity`` sites new places.
"""

from transport.placement.policies import POLICIES, place_pupils, summarise_placement

__all__ = ["POLICIES", "place_pupils", "summarise_placement"]
