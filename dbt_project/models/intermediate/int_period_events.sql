-- int_activity_events placed in every period it counts for: its month, quarter and year, and
-- every cumulative period that ends after it. Bots and list addresses are left out unless var
-- include_bots is true. Acts dated before var first_period_date (epoch-0 commits) are in no
-- period, cumulative ones included (marts.data_quality counts them as epoch_commit). All period
-- marts read from here, so every grain uses one definition.
-- The pre-hooks run outside the model's transaction, so the deleted rows' blocks are freed (a
-- checkpoint) before the new rows are written (macros/reuse_blocks.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=[
            {"sql": "{{ prepare_touched_periods() }}", "transaction": false},
            {"sql": "{{ delete_touched_events() }}", "transaction": false},
            {"sql": "{{ checkpoint_after_delete() }}", "transaction": false},
        ],
        post_hook=["{{ drop_new_rows_table() }}"],
    )
}}

-- An incremental run places again the acts of the months whose acts changed (in all their
-- periods), and every other act in the periods that appeared, disappeared or changed bounds
-- (a new cumulative year holds every earlier act): the rows of a touched cumulative period
-- whose acts did not change stay as they are.
{%- set parts = [('events', 'periods')] %}
{%- if (in_touched_months() | trim) != 'true' %}
    {%- set parts = [('touched_events', 'periods'), ('other_events', 'changed_periods')] %}
{%- endif %}

with

events as (
    select * from {{ ref('int_activity_events') }}
    where
        occurred_at >= '{{ var("first_period_date") }}'::timestamp
        and {{ 'true' if var('include_bots') else 'not is_bot' }}
),

periods as (
    select * from {{ ref('int_periods') }}
),

touched_events as (
    select * from events
    where {{ in_touched_months() }}
),

other_events as (
    select * from events
    where not {{ in_touched_months() }}
),

changed_periods as (
    select * from periods
    where {{ in_changed_periods() }}
),

final as (
    {%- for events, periods in parts %}
        {%- for grain in ['month', 'quarter', 'year'] %}
            select
                e.*,
                p.grain,
                p.period_start
            from {{ events }} as e
            inner join {{ periods }} as p
                on
                    e.project = p.project
                    and p.grain = '{{ grain }}'
                    and p.period_start = date_trunc('{{ grain }}', e.occurred_at)::date
            union all
        {%- endfor %}
        select
            e.*,
            p.grain,
            p.period_start
        from {{ events }} as e
        inner join {{ periods }} as p
            on
                e.project = p.project
                and p.grain = 'cumulative'
                and e.occurred_at < p.period_end
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select * from final
