"""docs/topology.md is the diagram of each example stack's current plan."""

from __future__ import annotations

from drkit.provision import topology_doc
from drkit.provision.diagram import mermaid
from tests.conftest import ROOT
from tests.provision.conftest import PlanFor


def test_topology_doc_is_current(plan_for: PlanFor, stack_spec) -> None:  # type: ignore[no-untyped-def]
    plans = {stack: (plan_for(stack), stack_spec(stack)) for stack in topology_doc.EXAMPLE_STACKS}
    assert (ROOT / "docs" / "topology.md").read_text(encoding="utf-8") == topology_doc.render(plans), "run `make docs`"


def test_prod_diagram_shows_both_regions_replication_mirror_and_failover(plan_for: PlanFor, stack_spec) -> None:  # type: ignore[no-untyped-def]
    text = mermaid(plan_for("prod"), stack_spec("prod"))
    assert (
        'subgraph us_east_1["AWS us-east-1 (primary)"]' in text
        and 'subgraph us_west_2["AWS us-west-2 (standby)"]' in text
    )
    assert text.count("subgraph us_east_1") == 4  # the region and its three AZs
    source, replica = "drkit_prod_backups_123456789012_us_east_1", "drkit_prod_backups_123456789012_us_west_2"
    assert f'{source} -- "S3 replication (RTC 15 min)" --> {replica}' in text
    assert 'endpoint -- "PRIMARY" --> us_east_1_nlb' in text and 'endpoint -- "SECONDARY" --> us_west_2_nlb' in text
    assert 'us_west_2_mirror -- "write" --> us_west_2_nlb' in text
