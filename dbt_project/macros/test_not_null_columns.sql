{#- Fails with one row (column_name, null_rows) per listed column that holds nulls. One scan of the
    model checks all its never-null columns: one test node, one query and one Dagster asset check
    per model, where a not_null test per column costs a node, a query and a check each. Of an
    incremental period model built incrementally, the rows of the touched periods (tested_rows). -#}
{% test not_null_columns(model, columns) %}
{%- set null_counts -%}
    {%- for column in columns -%}count(*) - count("{{ column }}"){{ ", " if not loop.last }}{%- endfor -%}
{%- endset %}
select
    column_name,
    null_rows
from (
    -- unnested side by side: the i-th name with the i-th count
    select
        unnest(['{{ columns | join("', '") }}']) as column_name,
        unnest([{{ null_counts }}]) as null_rows
    from {{ tested_rows(model) }} as t
)
where null_rows > 0
{% endtest %}
