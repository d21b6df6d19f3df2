-- the macro below is mostly Jinja: its SQL is indented by the Jinja blocks around it
-- noqa: disable=LT02


{#- Second pre-hook of the view int_period_events, run once the first (incremental_periods.sql)
    has stored the touched periods: when they hold at least var incremental_whole_share of the
    rows the marts read (a period's acts; a cumulative year holds every act before its end), the
    incremental models are dropped, so each is built whole with one `create table as`. Replacing
    most rows costs more: the new rows are written twice (a temporary table, then the mart) after
    a delete, and a touched cumulative year reads every act anyway. A null share never builds
    whole. -#}
{% macro build_whole_when_most_touched() -%}
    {%- set threshold = var('incremental_whole_share', none) -%}
    {%- if execute and flags.WHICH in ('run', 'build') and threshold is not none -%}
        {%- set existing = [] -%}
        {#- a model left out of the run keeps its rows: the run stores no state, so the next
            compares with the last complete build again -#}
        {%- for node in incremental_period_models() if node.unique_id in selected_resources -%}
            {%- set relation = adapter.get_relation(
                database=node.database, schema=node.schema, identifier=node.alias) -%}
            {%- if relation is not none -%}{%- do existing.append((node, relation)) -%}{%- endif -%}
        {%- endfor -%}
        {%- set schema = incremental_state_schema() -%}
        {%- if existing and state_relation('touched_periods') is not none -%}
            {%- set share = run_query(
                "with months as (select project, month, events from " ~ schema ~ ".current_event_fingerprints),
                period_rows as (
                    select p.project, p.grain, p.period_start, sum(m.events) as events
                    from " ~ ref('int_periods') ~ " as p
                    inner join months as m
                        on m.project = p.project and m.month < p.period_end
                        and (p.grain = 'cumulative' or m.month >= p.period_start)
                    group by all
                )
                select coalesce(
                    sum(events) filter (where (project, grain, period_start) in (
                        select (project, grain, period_start) from " ~ schema ~ ".touched_periods))
                    / nullif(sum(events), 0),
                    0
                )
                from period_rows"
            ).rows[0][0] -%}
            {%- set percent = (share * 100) | round(1) -%}
            {%- if share >= threshold -%}
                {%- for node, relation in existing -%}
                    {%- do log('whole build of ' ~ node.name ~ ': the touched periods hold ' ~ percent
                        ~ ' % of the period rows (var incremental_whole_share: ' ~ threshold ~ ')', info=true) -%}
                    {%- do adapter.drop_relation(relation) -%}
                {%- endfor -%}
                {%- do adapter.commit() -%}
            {%- else -%}
                {%- do log('incremental refresh: the touched periods hold ' ~ percent
                    ~ ' % of the period rows (var incremental_whole_share: ' ~ threshold ~ ')', info=true) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
