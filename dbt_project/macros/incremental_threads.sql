{#- Incremental threading: int_mail_messages_threaded and int_mail_message_ancestors recompute only
    the messages whose rows a refresh can change. Each model compares what it reads with what it
    holds, so the state is the table itself: a run that failed after one of them was refreshed
    leaves nothing for the next to miss.

    int_mail_messages_threaded: a message is changed when it is new, removed, or its columns read
    from staging differ (a hash of them). A message's parent depends on the messages its
    In-Reply-To and References name, and on the earlier messages of its list with its normalized
    subject; so the messages recomputed are the changed ones still there, every message naming a
    changed one in those headers, and every message of the list sharing the subject (old or new) of
    a changed one.

    int_mail_message_ancestors: a message's rows depend only on the parents along its chain. Its
    rows at depth 1 are the parents it was built from; a message is changed when it is new, removed
    or its parent differs from that, and the messages recomputed are the changed ones and every
    message that had a changed one among its ancestors (a chain that changes does so first at a
    message on the old chain).

    The messages recomputed are kept in schema incremental_state (rethreaded_messages,
    reancestored_messages) for inspection. Code, vars or identities that changed drop both models
    first (check_period_inputs), so they are built whole. -#}
-- the macros below are mostly Jinja: their SQL is indented by the Jinja blocks around it
-- noqa: disable=LT02


{#- pre-hook of int_mail_messages_threaded: the messages to recompute, and their rows deleted -#}
{% macro rethread_messages(messages) -%}
    {%- if is_incremental() -%}
        {%- set schema = incremental_state_schema() -%}
        {%- set copied = [] -%}
        {%- set read = adapter.get_columns_in_relation(messages) | map(attribute='name') | list -%}
        {%- for column in adapter.get_columns_in_relation(this) if column.name in read -%}
            {%- do copied.append(adapter.quote(column.name)) -%}
        {%- endfor -%}
        create schema if not exists {{ schema }};
        create or replace table {{ schema }}.rethreaded_messages as
        with
        -- staging is a view (senders, mailmap): read once
        current_rows as materialized (
            select
                project,
                list_name,
                message_id,
                subject_normalized,
                in_reply_to,
                "references",
                hash({{ copied | join(', ') }}) as row_hash
            from {{ messages }}
        ),
        stored_rows as (
            select project, list_name, message_id, subject_normalized, hash({{ copied | join(', ') }}) as row_hash
            from {{ this }}
        ),
        changed as materialized (
            select
                coalesce(c.project, s.project) as project,
                coalesce(c.list_name, s.list_name) as list_name,
                coalesce(c.message_id, s.message_id) as message_id,
                c.subject_normalized as new_subject,
                s.subject_normalized as old_subject
            from current_rows as c
            full join stored_rows as s
                on c.project = s.project and c.list_name = s.list_name and c.message_id = s.message_id
            where c.row_hash is distinct from s.row_hash
        ),
        subjects as (
            select project, list_name, new_subject as subject_normalized from changed where new_subject is not null
            union
            select project, list_name, old_subject from changed where old_subject is not null
        ),
        named as (
            select project, list_name, message_id, in_reply_to as named_id from current_rows
            union all
            select project, list_name, message_id, unnest("references") from current_rows
        )
        select project, list_name, message_id, true as changed
        from changed
        union
        select n.project, n.list_name, n.message_id, false
        from named as n
        semi join changed as c
            on n.project = c.project and n.list_name = c.list_name and n.named_id = c.message_id
        union
        select m.project, m.list_name, m.message_id, false
        from current_rows as m
        semi join subjects as s
            on m.project = s.project and m.list_name = s.list_name and m.subject_normalized = s.subject_normalized;
        delete from {{ this }}
        where {{ in_recomputed_messages('rethreaded_messages') }}
    {%- endif -%}
{%- endmacro %}

{#- pre-hook of int_mail_message_ancestors: the messages whose chains to recompute, and their rows
    deleted -#}
{% macro reancestor_messages(threaded) -%}
    {%- if is_incremental() -%}
        {%- set schema = incremental_state_schema() -%}
        create schema if not exists {{ schema }};
        create or replace table {{ schema }}.reancestored_messages as
        with
        stored_parents as (
            select project, list_name, message_id, any_value(ancestor_id) filter (where depth = 1) as parent_id
            from {{ this }}
            where depth <= 1
            group by project, list_name, message_id
        ),
        changed as materialized (
            select
                coalesce(c.project, s.project) as project,
                coalesce(c.list_name, s.list_name) as list_name,
                coalesce(c.message_id, s.message_id) as message_id
            from {{ threaded }} as c
            full join stored_parents as s
                on c.project = s.project and c.list_name = s.list_name and c.message_id = s.message_id
            where c.message_id is null or s.message_id is null or c.parent_id is distinct from s.parent_id
        )
        select project, list_name, message_id from changed
        union
        select a.project, a.list_name, a.message_id
        from {{ this }} as a
        semi join changed as c
            on a.project = c.project and a.list_name = c.list_name and a.ancestor_id = c.message_id;
        delete from {{ this }}
        where {{ in_recomputed_messages('reancestored_messages') }}
    {%- endif -%}
{%- endmacro %}

{#- a filter on a message (columns prefixed by `alias`): one the refresh recomputes, in the model
    whose pre-hook listed them in `state_table`; every message in a whole build -#}
{% macro in_recomputed_messages(state_table, alias=none) -%}
    {%- if this is not none and is_incremental() -%}
        {%- set p = (alias ~ '.') if alias else '' -%}
        ({{ p }}project, {{ p }}list_name, {{ p }}message_id) in (
            select (project, list_name, message_id) from {{ incremental_state_schema() }}.{{ state_table }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
