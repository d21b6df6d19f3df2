-- One row per project, grain (month | quarter | year | cumulative), period and organization with
-- any activity; each act counts for the organization its author was affiliated with on that day.
-- Bots and list addresses are left out unless var include_bots is true.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=["{{ delete_touched_periods() }}"],
        post_hook=["{{ drop_new_rows_table() }}"],
    )
}}

with

events as (
    select * from {{ ref('int_period_events') }}
    where {{ in_touched_periods() }}
),

final as (
    select
        project,
        grain,
        period_start,
        organization,
        -- people who did something: a person whose work was only acked or reviewed is not one
        count(distinct person_id) filter (where event not in ({{ received_events() }})) as people,
        {{ activity_metric_columns() }}
    from events
    group by all
)

select * from final
