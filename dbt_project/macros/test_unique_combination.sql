{#- Fails for every key combination that appears more than once (the grain of a mart).

    The rows are first grouped by a hash of their key, a fixed-size value, and only the rows whose
    hash repeats are grouped by the key itself (two keys with one hash are no failure). On the
    31.6 million rows of int_period_events at full size, grouping by the key's strings took 33 s,
    and in a refresh it ran out of dbt's 1 GB of memory beside another test; by the hash, 5 s. -#}
{% test unique_combination(model, columns) %}
{%- set key = columns | join(', ') %}
with repeated_hashes as (
    select hash({{ key }}) as key_hash
    from {{ model }}
    group by key_hash
    having count(*) > 1
)

select
    {{ key }},
    count(*) as n
from {{ model }}
where hash({{ key }}) in (select key_hash from repeated_hashes)
group by {{ key }}
having count(*) > 1
{% endtest %}
