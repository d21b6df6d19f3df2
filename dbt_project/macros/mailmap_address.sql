{#- The address an event is counted under once the name-specific .mailmap lines are applied:
    a line `Proper <proper@x> Commit Name <commit@x>` re-addresses an event only when its name
    AND address both match (case-insensitive, as git compares them), so two people sharing a
    placeholder address stay two people. Lines without a commit name are applied per address
    by int_addresses_resolved. Lower-cased, like every address of the staging models.

    Two halves: `mailmap_join` joins the lines to the rows (one line per address and name at
    most, so no row is repeated), `mailmap_address` reads the result. A plain left join, not a
    correlated subquery: DuckDB turns that into a join back over the distinct (name, address)
    pairs of every row, half a second per million messages in every model that reads them. -#}
{% macro mailmap_join(alias, address, name) -%}
    left join (
        select
            address,
            lower(trim(match_name)) as match_name,
            any_value(canonical_address) as canonical_address
        from {{ ref('stg_raw__identity_aliases') }}
        where match_name is not null
        group by address, lower(trim(match_name))
    ) as {{ alias }}
        on
            {{ alias }}.address = lower(trim({{ address }}))
            and {{ alias }}.match_name = lower(trim({{ name }}))
{%- endmacro %}

{% macro mailmap_address(address, alias) -%}
    coalesce({{ alias }}.canonical_address, lower(trim({{ address }})))
{%- endmacro %}
