-- One row per (message, ancestor): every message on the path from a message up to its thread
-- root, the message itself included at depth 0. Replies to a patch, the root of a thread and
-- the series a reply belongs to are all read from here. Depth is capped so that a loop of
-- In-Reply-To headers (broken clients) cannot recurse forever.
with recursive

parents as (
    select
        project,
        list_name,
        message_id,
        parent_id
    from {{ ref('int_mail_messages_threaded') }}
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
    union all
    select
        c.project,
        c.list_name,
        c.message_id,
        p.message_id as ancestor_id,
        p.parent_id as next_id,
        c.depth + 1 as depth
    from chain as c
    inner join parents as p
        on
            c.project = p.project
            and c.list_name = p.list_name
            and c.next_id = p.message_id
    where c.depth < 200
),

final as (
    select
        project,
        list_name,
        message_id,
        ancestor_id,
        depth,
        -- the root is the ancestor with no parent (or the farthest one reached in a loop)
        depth = max(depth) over (partition by project, list_name, message_id) as is_root
    from chain
    -- a loop revisits ancestors: keep each one at its nearest depth
    qualify row_number() over (
        partition by project, list_name, message_id, ancestor_id order by depth
    ) = 1
)

select * from final
