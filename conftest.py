"""Loads the gate's pytest plugin in a checkout, so that `pytest` runs the conformance suite.

(An installed package registers the same module through its `pytest11` entry
point under the same name; pytest loads it once.)
"""

pytest_plugins = ["contract.plugin"]
