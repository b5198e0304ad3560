"""The pure core of Email Incidents: parsing, rules, the incident engine and its state.

Nothing here imports Home Assistant; time comes in as arguments, so everything is plain,
fast and deterministic to test.
"""
