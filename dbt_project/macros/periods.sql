{#- The calendar grains every activity mart is reported at; use as `cross join {{ grains() }}`. -#}
{% macro grains() -%}
    (values ('month'), ('quarter'), ('year')) as g (grain)
{%- endmacro %}
