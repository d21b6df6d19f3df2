{#- The calendar grains every activity mart is reported at. -#}
{% macro grains() -%}
    (select * from (values ('month'), ('quarter'), ('year')) as g (grain))
{%- endmacro %}
