{#- Joins `rows` (a CTE with a unique `key` column, an `address` column and a timestamp `at`)
    to the affiliation rules and keeps, per key, the rule that decides the organization on that
    day: the applicable rule (valid_from <= day <= valid_until, nulls open) of lowest priority,
    the most recent start first. Adds organization ('(unknown)' for an address never seen) and
    affiliation_rule. -#}
{% macro affiliation_at(rows, key, address, at) -%}
    select
        x.*,
        coalesce(r.organization, '(unknown)') as organization,
        r.rule as affiliation_rule
    from {{ rows }} as x
    left join {{ ref('int_affiliation_rules') }} as r
        on
            x.{{ address }} = r.address
            -- open bounds as infinities rather than `is null or ...`: DuckDB 1.4 plans a left
            -- join whose condition holds an OR as a nested loop over every pair (hours, and out
            -- of memory, at a million events) instead of a hash join on the address. A null day
            -- still meets only a rule open at that end, as before.
            and coalesce(x.{{ at }}::date, '-infinity'::date) >= coalesce(r.valid_from, '-infinity'::date)
            and coalesce(x.{{ at }}::date, 'infinity'::date) <= coalesce(r.valid_until, 'infinity'::date)
    qualify row_number() over (
        partition by x.{{ key }} order by r.priority, r.valid_from desc nulls last, r.organization
    ) = 1
{%- endmacro %}
