"""The hub's conformance kit on this connector, run from this folder with
plain `pytest` (installed with `pip install codetether-hub[kit]`)."""

from connectors.base.testing import ConnectorConformance


class TestExampleConnector(ConnectorConformance):
    connector_key = "example"
