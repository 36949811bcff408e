"""What the apps above units may say about a unit about to close, without units knowing them.

``unit_closing`` is sent by the close confirmation page (units.views_admin) with ``unit`` and
``valid_to``; each receiver returns a list of warnings (translated text) about what is still
attached to the unit and its subtree — fieldwork's kiosks and open rounds, for example. Units
imports nothing from above; the receivers connect in their app's ready().
"""

from django.dispatch import Signal

unit_closing = Signal()


def closing_warnings(unit, valid_to) -> list[str]:
    """Every receiver's warnings, in the order they connected."""
    return [warning for _receiver, warnings in unit_closing.send(sender=unit.__class__, unit=unit,
                                                                  valid_to=valid_to)
            for warning in (warnings or [])]
