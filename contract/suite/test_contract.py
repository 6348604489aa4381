"""The long-operation contract, explored by the state machine against the configured target."""


def test_long_operation_contract(lro_gate):
    """Every clause of the catalogue, exercised by stateful exploration; verdicts go to the report."""
    lro_gate.explore()
