{#- An incremental model's new rows, before they are merged, go to a temporary table; in a DuckLake
    they go to a table of the lake instead (in a temporary schema, dropped after the merge), since
    one DuckDB transaction writes to one database only and a temporary table is in another. What
    dbt-duckdb does for MotherDuck. -#}
{% macro duckdb__dispatch_temporary_relation(target_relation, batch_id='') %}
    {%- if adapter.is_ducklake(target_relation) -%}
        {%- set relation = target_relation.incorporate(
            path=adapter.get_temp_relation_path(target_relation, batch_id)
        ) -%}
        {%- do run_query(create_schema(relation)) -%}
        {%- if not adapter.disable_transactions() -%}
            {%- do adapter.commit() -%}
        {%- endif -%}
        {%- do return({'relation': relation, 'temporary': false}) -%}
    {%- endif -%}
    {%- do return({'relation': make_temp_relation(target_relation), 'temporary': true}) -%}
{% endmacro %}
