{#- Incremental int_activity_events. Attributing an act (its person, and its organization on its
    day) costs the most, and writing three million of them at full size; the acts themselves
    (macros/activity_acts.sql) are cheap to list. A refresh lists them all and compares them with
    the acts the table holds, by (project, event, ref_id, address) and a hash of the measures.
    Deleted first: the acts held that are gone or changed, and every act of an address whose person
    or affiliation rules changed since the last build (its fingerprint, stored by the model in the
    same transaction), with every commit whose committer's did (the outsider merge compares both
    organizations). The model then attributes the acts listed and not held, and the acts it
    deleted unchanged (new_acts).

    incremental_state.changed_addresses, act_changes, stale_acts and new_acts keep what the last
    refresh found. Code,
    vars or identities that changed drop the model first (check_period_inputs): built whole. -#}
-- the macros below are mostly Jinja: their SQL is indented by the Jinja blocks around it
-- noqa: disable=LT02


{#- the join condition of two rows (aliases `a`, `b`) holding the same act with the same measures -#}
{% macro same_act(a, b) -%}
    {{ a }}.project = {{ b }}.project
    and {{ a }}.event = {{ b }}.event
    and {{ a }}.ref_id = {{ b }}.ref_id
    and {{ a }}.address = {{ b }}.address
    and hash({{ a }}.occurred_at, {{ a }}.lines_added, {{ a }}.lines_removed, {{ a }}.hours_to_first_reply,
        {{ a }}.is_answered)
    = hash({{ b }}.occurred_at, {{ b }}.lines_added, {{ b }}.lines_removed, {{ b }}.hours_to_first_reply,
        {{ b }}.is_answered)
{%- endmacro %}

{#- one row per address: a hash of its person, bot flag and affiliation rules -#}
{% macro address_fingerprints() -%}
    select
        p.address,
        hash(p.person_id, p.is_bot, r.rules, r.rules_xor, r.rules_sum) as fingerprint
    from {{ ref('int_addresses_resolved') }} as p
    left join (
        select
            address,
            count(*) as rules,
            bit_xor(hash(r)) as rules_xor,
            sum(hash(r)::hugeint) as rules_sum
        from {{ ref('int_affiliation_rules') }} as r
        group by address
    ) as r on p.address = r.address
{%- endmacro %}

{#- pre-hook of int_activity_events: the acts to attribute (new_acts) and the acts held that are
    stale, deleted. One full join of the acts listed now with those held finds both the acts only
    listed and those only held. -#}
{% macro prepare_act_changes() -%}
    {%- if is_incremental() -%}
        {%- set schema = incremental_state_schema() -%}
        {%- set stored = state_relation('address_fingerprints') -%}
        {%- set key = 'project, event, ref_id, address' -%}
        create schema if not exists {{ schema }};
        create or replace table {{ schema }}.changed_addresses as
        with
        current_prints as (
            {{ address_fingerprints() }}
        ),
        stored_prints as (
            {%- if stored is not none %}
                select address, fingerprint from {{ stored }}
            {%- else %}
                -- no fingerprints stored: every address counts as changed
                select address, null::ubigint as fingerprint from current_prints
            {%- endif %}
        )
        select coalesce(c.address, s.address) as address
        from current_prints as c
        full join stored_prints as s on c.address = s.address
        where c.fingerprint is distinct from s.fingerprint;
        create or replace table {{ schema }}.act_changes as
        with
        {{ activity_acts() }},
        current_acts as (
            select * from all_events where address is not null
        ),
        held_acts as (
            select
                project,
                event,
                ref_id,
                address,
                occurred_at,
                lines_added,
                lines_removed,
                hours_to_first_reply,
                is_answered
            from {{ this }}
        )
        select
            c.*,
            s.project as held_project,
            s.event as held_event,
            s.ref_id as held_ref_id,
            s.address as held_address
        from current_acts as c
        full join held_acts as s on {{ same_act('c', 's') }}
        where c.project is null or s.project is null;
        create or replace table {{ schema }}.stale_acts as
        select held_project as project, held_event as event, held_ref_id as ref_id, held_address as address
        from {{ schema }}.act_changes
        where held_project is not null
        union
        select {{ key }}
        from {{ this }}
        where address in (select address from {{ schema }}.changed_addresses)
        union
        select {{ key }}
        from {{ this }}
        where
            event = 'commit'
            and (project, ref_id) in (
                select (project, repository || ':' || sha)
                from {{ ref('stg_raw__git_commits') }}
                where committer_address in (select address from {{ schema }}.changed_addresses)
            );
        -- the acts listed now and not held, and those held unchanged but attributed again
        create or replace table {{ schema }}.new_acts as
        select * exclude (held_project, held_event, held_ref_id, held_address)
        from {{ schema }}.act_changes
        where project is not null
        union all by name
        select
            t.project,
            t.event,
            t.address,
            t.occurred_at,
            t.ref_id,
            t.lines_added,
            t.lines_removed,
            t.hours_to_first_reply,
            t.is_answered
        from {{ this }} as t
        semi join {{ schema }}.stale_acts as s
            on t.project = s.project and t.event = s.event and t.ref_id = s.ref_id and t.address = s.address
        anti join {{ schema }}.act_changes as g
            on
                t.project = g.held_project
                and t.event = g.held_event
                and t.ref_id = g.held_ref_id
                and t.address = g.held_address;
        delete from {{ this }}
        where ({{ key }}) in (select ({{ key }}) from {{ schema }}.stale_acts)
    {%- endif -%}
{%- endmacro %}

{#- post-hook of int_activity_events, in its transaction: the fingerprints its acts were attributed
    with -#}
{% macro record_address_fingerprints() -%}
    create schema if not exists {{ incremental_state_schema() }};
    create or replace table {{ incremental_state_schema() }}.address_fingerprints as
    {{ address_fingerprints() }}
{%- endmacro %}
