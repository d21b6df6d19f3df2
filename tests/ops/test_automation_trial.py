"""Why the refresh keeps its own planner (README, "Scheduled refresh"): Dagster's declarative
automation, with data versions from the sources, rebuilds after the first source of a refresh when
the sources run one after another, as the warehouse pool makes them."""

import dagster as dg

SOURCES = dg.StaticPartitionsDefinition(["kvm", "qemu"])


@dg.asset(partitions_def=SOURCES, automation_condition=dg.AutomationCondition.on_cron("0 3 * * *"))
def source(context: dg.AssetExecutionContext) -> dg.Output[None]:
    # the same rows on every run: a data version that never changes
    return dg.Output(None, data_version=dg.DataVersion(f"rows-of-{context.partition_key}"))


# rebuild when a source's data version changed, never while a source is running
CHANGED_SOURCES = (
    dg.AutomationCondition.any_deps_match(dg.AutomationCondition.data_version_changed()).since(
        dg.AutomationCondition.newly_requested() | dg.AutomationCondition.newly_updated()
    )
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
)


@dg.asset(deps=[source], automation_condition=CHANGED_SOURCES)
def rebuild() -> None:
    return None


def test_declarative_automation_rebuilds_after_the_first_of_two_sources():
    defs = dg.Definitions(assets=[source, rebuild])
    instance = dg.DagsterInstance.ephemeral()
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    requested = []
    for refresh in (1, 2):
        for partition in SOURCES.get_partition_keys():
            assert dg.materialize([source], partition_key=partition, instance=instance).success
            result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=result.cursor)
            n = result.get_num_requested(rebuild.key)
            requested.append((refresh, partition, n))
            if n:
                assert dg.materialize([rebuild], instance=instance).success
    # refresh 1: a rebuild after kvm alone, before qemu's rows were loaded (the planner waits for
    # both); refresh 2, nothing new: no rebuild (the planner's fingerprint does the same)
    assert requested == [(1, "kvm", 1), (1, "qemu", 0), (2, "kvm", 0), (2, "qemu", 0)]
