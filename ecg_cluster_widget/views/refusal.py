"""Refused trait values of the linked views, the same way as the explorer's.

A validator that raises a plain :class:`~ecg_cluster_widget.errors.DataError` refuses a
value set from Python, but not one sent by the browser: ipywidgets applies a browser's
change inside ``hold_trait_notifications`` and rolls it back only for a
:class:`traitlets.TraitError`, so the bad value stayed in the trait (a
``DatasetView.current`` of 10**6 while the linked explorer refused it). :func:`refusing`
turns a validator's ``DataError`` into :class:`~ecg_cluster_widget.errors.TraitValueError`
(both a ``DataError`` and a ``TraitError``), and :class:`RefusesBrowserValues` reports a
refused browser value in the view's ``error`` and sends the kernel's values back.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import traitlets as t

from ..errors import DataError, TraitValueError

__all__ = ["refusing", "RefusesBrowserValues"]


def refusing(validator: Callable) -> Callable:
    """Wrap a trait validator so a refused value raises :class:`TraitValueError`.

    Parameters
    ----------
    validator : callable
        ``validator(self, proposal)``, raising :class:`DataError` for a bad value.

    Returns
    -------
    callable
        The same validator, raising :class:`TraitValueError` instead (rolled back).

    Examples
    --------
    >>> class V(t.HasTraits):
    ...     x = t.Int(0)
    ...     @t.validate("x")
    ...     @refusing
    ...     def _v(self, p):
    ...         if p["value"] < 0:
    ...             raise DataError("x must be >= 0")
    ...         return p["value"]
    >>> v = V()
    >>> try:
    ...     v.x = -1
    ... except TraitValueError as exc:
    ...     print(exc, v.x)
    x must be >= 0 0
    """

    @functools.wraps(validator)
    def wrapped(self: Any, proposal: Any) -> Any:
        try:
            return validator(self, proposal)
        except TraitValueError:
            raise
        except (DataError, t.TraitError, TypeError, ValueError, OverflowError) as exc:
            raise TraitValueError(str(exc)) from None

    return wrapped


class RefusesBrowserValues(t.HasTraits):
    """Mixin for a widget: a value from the browser that a validator refuses, or a change
    of a trait only the kernel writes (``_kernel_owned``), is rolled back, shown
    (``_refuse``: in the ``error`` trait unless overridden), warned about, and the browser
    is sent the kernel's values again.

    Examples
    --------
    >>> view.set_state({"current": 10**6})  # doctest: +SKIP
    >>> view.current, view.error  # doctest: +SKIP
    (-1, 'current=1000000 is out of range: ...')
    """

    #: Traits only the kernel writes.
    _kernel_owned: frozenset[str] = frozenset()

    def _refuse(self, exc: Exception) -> None:
        if self.has_trait("error"):
            self.error = str(exc)

    def set_state(self, sync_data: dict) -> None:
        """Apply a change sent by the browser; a refused one is rolled back and re-synced."""
        try:
            owned = sorted(k for k in sync_data if k in self._kernel_owned)
            if owned:
                raise TraitValueError(
                    f"{', '.join(owned)} can only be changed by the kernel, not by the browser."
                )
            super().set_state(sync_data)
        except t.TraitError as exc:
            self._refuse(exc)
            warnings.warn(
                f"{type(self).__name__} refused a value from the browser: {exc}", stacklevel=2
            )
            self.send_state([n for n in sync_data if n in self.keys])  # the kernel's values
