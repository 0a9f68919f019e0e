"""Prometheus metrics for ``prometheus_client`` (``pip install "hmac-guard[prometheus]"``).

    from prometheus_client import REGISTRY, make_wsgi_app
    from hmac_guard.prometheus import GuardCollector

    REGISTRY.register(GuardCollector({"api": api_guard, "webhooks": webhook_guard}))
    metrics_app = make_wsgi_app()

Names, types, help texts and values are the core's (``Guard.metric_families()``; the list is in
docs/observability.md). Several guards share one collector, each named by a ``guard`` label.
Without ``prometheus_client``, ``guard.metrics()`` gives the text format directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Union

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from ._native import Guard

__all__ = ["GuardCollector"]


class GuardCollector(Collector):
    """Collects the metrics of ``guards``: one :class:`~hmac_guard.Guard`, or ``{name: guard}``
    (each sample then labelled ``guard=name``). Register one collector for all of a registry's
    guards: two would define the same metric names."""

    def __init__(self, guards: Union[Guard, Mapping[str, Guard]]) -> None:
        if isinstance(guards, Guard):
            self._guards: list[tuple[dict[str, str], Guard]] = [({}, guards)]
        else:
            self._guards = [({"guard": name}, guard) for name, guard in guards.items()]

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for labels, guard in self._guards:
            for family in guard.metric_families():
                name = family["name"]
                # prometheus_client names a counter without its `_total` (its samples keep it).
                if family["type"] == "counter":
                    name = name.removesuffix("_total")
                metric = families.get(name)
                if metric is None:
                    metric = families[name] = Metric(name, family["help"], family["type"])
                for sample in family["samples"]:
                    metric.add_sample(sample["name"], {**labels, **sample["labels"]}, sample["value"])
        yield from families.values()
