{#- A DuckDB file frees a dropped table's blocks only at the next checkpoint, and a table built
    before that goes to new blocks at the end of the file. dbt builds a table beside the old one
    and drops the old one after, so every refresh left the file larger by every table it rebuilt
    whole (a sixth of the file at full size), which the publishing step then had to rewrite
    (core.warehouse.reclaim_free_blocks: a minute and more). Readers never open the warehouse
    being built (they read the published copy), so nothing needs the old tables while the new
    ones are built: they are dropped before any model runs, then a checkpoint frees their blocks
    for the new ones.

    A DuckLake writes new files for every change and expires old ones itself: neither applies. -#}
-- the macros below are mostly Jinja: their SQL is indented by the Jinja blocks around it
-- noqa: disable=LT02


{#- on-run-start: drop the project's tables this run rebuilds whole, then checkpoint -#}
{% macro drop_tables_rebuilt_whole() -%}
    {%- if execute and flags.WHICH in ('run', 'build') -%}
        {%- set dropped = [] -%}
        {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
            {%- if node.unique_id in selected_resources and node.resource_type == 'model'
                and node.package_name == project_name
                and (node.config.materialized == 'table'
                     or (node.config.materialized == 'incremental' and flags.FULL_REFRESH)) -%}
                {%- set relation = adapter.get_relation(
                    database=node.database, schema=node.schema, identifier=node.alias) -%}
                {%- if relation is not none and relation.is_table and not adapter.is_ducklake(relation) -%}
                    {%- do adapter.drop_relation(relation) -%}
                    {%- do dropped.append(relation) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if dropped -%}
            {%- do adapter.commit() -%}
            {%- do run_query('checkpoint') -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
