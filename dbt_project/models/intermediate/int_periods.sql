-- One row per (project, grain, period): every calendar month, quarter and year from the project's
-- first to its last act, with no gaps, plus the cumulative periods. A cumulative period covers
-- everything from the project's beginning to period_end; its period_start is the first day of
-- its last calendar period at the resolution of var cumulative_grain (year by default).
-- Acts dated before var first_period_date (1985-01-01: an epoch-0 conversion commit of 1970) set
-- no bound, so they never stretch a project's history back to 1970; they are in no period.
with

bounds as (
    select
        project,
        min(occurred_at) as first_at,
        max(occurred_at) as last_at
    from {{ ref('int_activity_events') }}
    where occurred_at >= '{{ var("first_period_date") }}'::timestamp
    group by project
),

calendar as (
    {%- for grain in ['month', 'quarter', 'year'] %}
        select
            b.project,
            '{{ grain }}' as grain,
            s.period_start::date as period_start,
            (s.period_start + interval 1 {{ grain }})::date as period_end
        from bounds as b
        cross join
            lateral (
                select unnest(generate_series(
                    date_trunc('{{ grain }}', b.first_at), date_trunc('{{ grain }}', b.last_at), interval 1 {{ grain }}
                )) as period_start
            ) as s
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

cumulative as (
    select
        project,
        'cumulative' as grain,
        period_start,
        period_end
    from calendar
    where grain = '{{ var("cumulative_grain") }}'
),

final as (
    select * from calendar
    union all
    select * from cumulative
)

select * from final
