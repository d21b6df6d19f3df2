-- One row per project, grain (month | quarter | year | cumulative), period and person with any
-- activity (a row whose acts were all received, e.g. an ack on an older patch, is kept). organization
-- is the one most of the person's own acts in the period were attributed to; acks and reviews
-- received only break ties, and decide it alone when the person did nothing in the period.
-- Bots and list addresses are left out unless var include_bots is true.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=["{{ delete_touched_periods() }}"],
        post_hook=["{{ refresh_display_names() }}", "{{ drop_new_rows_table() }}"],
    )
}}

with

-- not materialized: DuckDB would otherwise copy every column of the events into a temporary
-- result (read more than once below), spilling tens of millions of rows at full size
events as not materialized (
    select * from {{ ref('int_period_events') }}
    where {{ in_touched_periods() }}
),

org_counts as (
    select
        project,
        grain,
        period_start,
        person_id,
        organization,
        count(*) filter (where event not in ({{ received_events() }})) as acts_done,
        count(*) as acts,
        max(occurred_at) as last_act
    from events
    group by project, grain, period_start, person_id, organization
),

main_org as (
    select
        project,
        grain,
        period_start,
        person_id,
        organization
    from org_counts
    qualify row_number() over (
        partition by project, grain, period_start, person_id
        order by acts_done desc, acts desc, last_act desc, organization
    ) = 1
),

metrics as (
    select
        project,
        grain,
        period_start,
        person_id,
        {{ activity_metric_columns() }}
    from events
    group by all
),

final as (
    select
        m.project,
        m.grain,
        m.period_start,
        m.person_id,
        p.display_name,
        o.organization,
        m.* exclude (project, grain, period_start, person_id)
    from metrics as m
    inner join main_org as o using (project, grain, period_start, person_id)
    left join {{ ref('people') }} as p on m.person_id = p.person_id
)

select * from final
