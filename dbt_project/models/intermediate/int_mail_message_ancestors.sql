-- One row per (message, ancestor): every message on the path from a message up to its thread
-- root, the message itself included at depth 0. Replies to a patch, the root of a thread and
-- the series a reply belongs to are all read from here. Depth is capped so that a loop of
-- In-Reply-To headers (broken clients) cannot recurse forever.
-- A refresh recomputes only the chains that pass through a message whose parent changed
-- (macros/incremental_threads.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=["{{ reancestor_messages(ref('int_mail_messages_threaded')) }}"],
        post_hook=["{{ drop_new_rows_table() }}"],
    )
}}

with recursive

parents as (
    select
        project,
        list_name,
        message_id,
        parent_id
    from {{ ref('int_mail_messages_threaded') }}
),

-- the messages some message answers: the only ones a step up the chain can reach. Each step
-- hashes them again, so the fewer the better (four in ten messages at full size).
answered as materialized (
    select
        p.project,
        p.list_name,
        p.message_id,
        p.parent_id
    from parents as p
    where exists (
        select 1
        from parents as c
        where
            c.project = p.project
            and c.list_name = p.list_name
            and c.parent_id = p.message_id
    )
),

chain as (
    select
        project,
        list_name,
        message_id,
        message_id as ancestor_id,
        parent_id as next_id,
        0 as depth
    from parents
    where {{ in_recomputed_messages('reancestored_messages') }}
    union all
    select
        c.project,
        c.list_name,
        c.message_id,
        p.message_id as ancestor_id,
        p.parent_id as next_id,
        c.depth + 1 as depth
    from chain as c
    inner join answered as p
        on
            c.project = p.project
            and c.list_name = p.list_name
            and c.next_id = p.message_id
    where c.depth < 200
),

-- the root is the ancestor with no parent; in a loop the chain runs on to the cap, and no
-- ancestor kept is its root
deepest as (
    select
        project,
        list_name,
        message_id,
        max(depth) as max_depth
    from chain
    group by project, list_name, message_id
),

-- a loop revisits ancestors: keep each one at its nearest depth (grouped, not ranked: a hash
-- aggregate instead of a sort of every chain row)
nearest as (
    select
        project,
        list_name,
        message_id,
        ancestor_id,
        min(depth) as depth
    from chain
    group by project, list_name, message_id, ancestor_id
),

final as (
    select
        n.project,
        n.list_name,
        n.message_id,
        n.ancestor_id,
        n.depth,
        n.depth = d.max_depth as is_root
    from nearest as n
    inner join deepest as d
        on
            n.project = d.project
            and n.list_name = d.list_name
            and n.message_id = d.message_id
)

select * from final
