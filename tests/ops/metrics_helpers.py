"""/metrics read as Prometheus reads it: prometheus-client's own text parser."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[Samples, dict[str, str]]:
    """Every sample by (name, labels), and every metric family's type by family name."""
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, types


def scrape(url: str, headers: Mapping[str, str] | None = None) -> Samples:
    response = httpx.get(url + "/metrics", headers=dict(headers or {}), timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)[0]


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample `name` with exactly these labels; 0 when there is none (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples `name` whose labels include these (others summed over)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def exported_series(types: Mapping[str, str]) -> set[str]:
    """The series names a scrape can be queried by, from the families' types: a counter
    `x` is `x_total`, a histogram `x` is `x_bucket`, `x_sum` and `x_count`."""
    names: set[str] = set()
    for family, kind in types.items():
        if kind == "counter":
            names.add(family + "_total")
        elif kind == "histogram":
            names.update({family + "_bucket", family + "_sum", family + "_count"})
        elif kind == "summary":
            names.update({family, family + "_sum", family + "_count"})
        else:
            names.add(family)
    return names
