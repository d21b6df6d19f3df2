{#- The address in a trailer value written the way list archives obfuscate it (`jdoe at
    example.com`, `jdoe _at_ example.com`, `jdoe (at) example.com`, `jdoe [at] example.com`),
    lower case, the way the identity loader normalizes it; null when the value holds none. -#}
{% macro obfuscated_address(column) -%}
    {%- set pattern = "([A-Za-z0-9._+=-]+)(?:\\s+at\\s+|\\s*_at_\\s*|\\s*\\(at\\)\\s*|\\s*\\[at\\]\\s*)([A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)+)" -%}
    nullif(lower(regexp_replace(regexp_extract({{ column }}, '{{ pattern }}', 0, 'i'), '{{ pattern }}', '\1@\2', 'i')), '')
{%- endmacro %}
