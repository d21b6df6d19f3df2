{#- The address an event is counted under once the name-specific .mailmap lines are applied:
    a line `Proper <proper@x> Commit Name <commit@x>` re-addresses an event only when its name
    AND address both match (case-insensitive, as git compares them), so two people sharing a
    placeholder address stay two people. Lines without a commit name are applied per address
    by int_addresses_resolved. Lower-cased, like every address of the staging models. -#}
{% macro mailmap_address(address, name) -%}
    coalesce(
        (
            select any_value(m.canonical_address)
            from {{ ref('stg_raw__identity_aliases') }} as m
            where
                m.match_name is not null
                and m.address = lower(trim({{ address }}))
                and lower(trim(m.match_name)) = lower(trim({{ name }}))
        ),
        lower(trim({{ address }}))
    )
{%- endmacro %}
