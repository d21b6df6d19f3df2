{#- Joins `rows` (a CTE with an `address` column and a timestamp `at`) to the affiliation rules
    and adds, for each row, the rule that decides the organization on that day: the applicable
    rule (valid_from <= day <= valid_until, nulls open) of lowest priority, the most recent start
    first, then by organization and rule. Adds organization ('(unknown)' for an address never
    seen) and affiliation_rule.

    The rule is chosen once per (address, day), not per row: a person's acts of one day share it,
    so the choice sorts a seventh of the rows at full size, and no row needs a key of its own. -#}
{% macro affiliation_at(rows, address, at) -%}
    select
        x.*,
        coalesce(d.organization, '(unknown)') as organization,
        d.affiliation_rule
    from {{ rows }} as x
    left join (
        select
            k.address,
            k.day,
            r.organization,
            r.rule as affiliation_rule
        from (select distinct {{ address }} as address, {{ at }}::date as day from {{ rows }}) as k
        inner join {{ ref('int_affiliation_rules') }} as r
            on
                k.address = r.address
                -- open bounds as infinities rather than `is null or ...`: DuckDB plans a join
                -- whose condition holds an OR as a nested loop over every pair instead of a hash
                -- join on the address. A null day still meets only a rule open at that end.
                and coalesce(k.day, '-infinity'::date) >= coalesce(r.valid_from, '-infinity'::date)
                and coalesce(k.day, 'infinity'::date) <= coalesce(r.valid_until, 'infinity'::date)
        qualify row_number() over (
            partition by k.address, k.day
            order by r.priority, r.valid_from desc nulls last, r.organization, r.rule
        ) = 1
    ) as d
        on x.{{ address }} = d.address and x.{{ at }}::date is not distinct from d.day
{%- endmacro %}
