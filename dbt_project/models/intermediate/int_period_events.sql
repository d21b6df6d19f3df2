-- int_activity_events placed in every period it counts for: its month, quarter and year, and
-- every cumulative period that ends after it. Bots and list addresses are left out unless var
-- include_bots is true. Acts dated before var first_period_date (epoch-0 commits) are in no
-- period, cumulative ones included (marts.data_quality counts them as epoch_commit). All period
-- marts read from here, so every grain uses one definition.
-- A view: the marts expand only the periods they compute (a refresh's touched ones), which DuckDB
-- pushes down to int_periods. Stored, it held ten rows per act (30 million at full size, two
-- thirds of the warehouse), which every refresh touching old months deleted and wrote again.
-- Its pre-hooks work out those touched periods for the incremental marts, and whether they hold
-- so many of the rows that the marts are built whole (macros/incremental_periods.sql,
-- macros/incremental_whole_builds.sql).
{{
    config(
        materialized='view',
        pre_hook=[
            {"sql": "{{ prepare_touched_periods() }}", "transaction": false},
            {"sql": "{{ build_whole_when_most_touched() }}", "transaction": false},
        ],
    )
}}

with

-- Each CTE is read by the four branches below. The acts not materialized: DuckDB would otherwise
-- copy them whole once per mart's read of this view (up to four), 3 million acts each time at full
-- size. The periods materialized, a few hundred rows: as a table scan they are the side each join
-- hashes; inlined, DuckDB may hash the acts instead, beyond dbt's memory limit.
events as not materialized (
    select * from {{ ref('int_activity_events') }}
    where
        occurred_at >= '{{ var("first_period_date") }}'::timestamp
        and {{ 'true' if var('include_bots') else 'not is_bot' }}
),

periods as materialized (
    select * from {{ ref('int_periods') }}
),

final as (
    {%- for grain in ['month', 'quarter', 'year', 'cumulative'] %}
        select
            e.*,
            p.grain,
            p.period_start
        from events as e
        inner join periods as p
            on
                e.project = p.project
                and p.grain = '{{ grain }}'
                {%- if grain == 'cumulative' %}
                    and e.occurred_at < p.period_end
                {%- else %}
                    and p.period_start = date_trunc('{{ grain }}', e.occurred_at)::date
                {%- endif %}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select * from final
