"""The conformance kit: the checks every connector passes, run by pytest
with the kit's own hub (the ``codetether_hub_kit`` plugin, installed with
the hub: ``connectors.base.testing.plugin``)::

    from connectors.base.testing import ConnectorConformance

    class TestMyConnector(ConnectorConformance):
        connector_key = "my_connector"
        inputs = {"create_thing": {"name": "x"}}   # a valid input per action/search

Override ``valid_input`` when an input needs objects made first, ``cause``
for events the default cannot make, ``prepare_choices`` for what a dropdown
lists. The plugin's fixtures (``hub_app``, ``hub_user``, ``hook_receiver``,
``hub_delivery_worker``) serve a connector's own tests as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.base.testing.conformance import ConnectorConformance
    from connectors.base.testing.support import HookReceiver, HubUser

__all__ = ["ConnectorConformance", "HookReceiver", "HubUser"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the plugin is loaded by every pytest run in the
    # hub's environment, and the checks import the whole hub.
    if name == "ConnectorConformance":
        from connectors.base.testing.conformance import ConnectorConformance

        return ConnectorConformance
    if name in ("HookReceiver", "HubUser"):
        from connectors.base.testing import support

        return getattr(support, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
