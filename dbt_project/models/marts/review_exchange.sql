-- One row per project, grain, period, reviewer organization and author organization with any
-- ack or review: who reviews whose work. Each act is one row of int_review_acts, counted for the
-- giver's organization and the receiver's organization on the act's day.
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

-- not materialized: DuckDB would otherwise copy every column of the events into a temporary
-- result (read more than once below), spilling tens of millions of rows at full size
events as not materialized (
    select * from {{ ref('int_period_events') }}
    where {{ in_touched_periods() }}
),

given as (
    select * from events
    where event in ('ack_given', 'review_given')
),

received as (
    select * from events
    where event in ('ack_received', 'review_received')
),

final as (
    select
        g.project,
        g.grain,
        g.period_start,
        g.organization as reviewer_organization,
        r.organization as author_organization,
        count(*) filter (where g.event = 'ack_given') as acks,
        count(*) filter (where g.event = 'review_given') as reviews
    from given as g
    inner join received as r
        on
            g.project = r.project
            and g.grain = r.grain
            and g.period_start = r.period_start
            and g.ref_id = r.ref_id
    group by all
)

select * from final
