{#- Fails for every key combination that appears more than once (the grain of a mart).

    The rows are first grouped by a hash of their key, a fixed-size value, and only the rows whose
    hash repeats are grouped by the key itself (two keys with one hash are no failure). On the
    31.6 million rows of every act in each of its periods at full size, grouping by the key's
    strings took 33 s; by the hash, 5 s. An incremental period model that this run built
    incrementally has only the rows of its touched periods tested (tested_rows in
    incremental_periods.sql). -#}
{% test unique_combination(model, columns) %}
{%- set key = columns | join(', ') %}
{%- set rows = tested_rows(model) %}
with repeated_hashes as (
    select hash({{ key }}) as key_hash
    from {{ rows }} as t
    group by key_hash
    having count(*) > 1
)

select
    {{ key }},
    count(*) as n
from {{ rows }} as t
where hash({{ key }}) in (select key_hash from repeated_hashes)
group by {{ key }}
having count(*) > 1
{% endtest %}
