-- One row per project, grain, period and organization with any activity; each act counts for
-- the organization its author was affiliated with on that day. Bots are left out.
with

events as (
    select
        e.*,
        g.grain,
        date_trunc(g.grain, e.occurred_at)::date as period_start
    from {{ ref('int_activity_events') }} as e
    cross join {{ grains() }}
    where not coalesce(e.is_bot, false)
),

final as (
    select
        project,
        grain,
        period_start,
        organization,
        count(distinct person_id) as people,
        {{ activity_metric_columns() }}
    from events
    group by all
)

select * from final
