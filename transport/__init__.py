"""sen-transport: plans SEN home-to-school transport and prices personal transport budgets.

The library is a one-way pipeline, one module per stage::

    load → validate → place → route → price → compare/report

Each stage takes frozen dataclasses from :mod:`transport.model` and returns new ones.
"""

__version__ = "0.1.0"
