-- One row per (project, list, message) with its parent in the thread and how the parent was
-- found, in the order of METRICS.md: In-Reply-To, then the nearest archived References entry,
-- then (only for a message that says it is a reply, Re:, and whose headers resolve to nothing
-- archived) the normalized subject. The subject never overrides the headers: a message whose
-- headers name a thread (its first References entry, else its In-Reply-To) can only be hung by
-- subject under a message of that same named thread, so a new `[PATCH 07/51]` answering its own
-- (unarchived) cover letter is never put under an older posting with the same subject. Only
-- messages archived on the same list can be parents, so a thread never hangs from a message
-- nobody can see. header_root_id is the thread the headers name, archived or not: what series
-- without an archived cover letter are grouped by.
-- A refresh recomputes only the messages whose parent new, removed or changed messages can move
-- (macros/incremental_threads.sql); every message stays a candidate parent.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=["{{ rethread_messages(ref('stg_raw__mail_messages')) }}"],
        post_hook=["{{ drop_new_rows_table() }}"],
    )
}}

with

messages as (
    select
        project,
        list_name,
        message_id,
        from_address,
        from_name,
        sent_at,
        subject,
        subject_normalized,
        in_reply_to,
        "references",
        is_patch,
        is_cover_letter,
        -- the thread the headers name: the first References entry is the original root (RFC
        -- 5322), else the message answered, else the message itself
        coalesce("references"[1], in_reply_to, message_id) as header_root_id,
        regexp_matches(lower(coalesce(subject, '')), '^\s*(\[[^\]]*\]\s*)*(re|aw|sv|antw|odp)\s*:')
            as says_reply,
        in_reply_to is not null or coalesce(len("references"), 0) > 0 as has_reply_headers
    from {{ ref('stg_raw__mail_messages') }}
),

-- the messages whose parent is worked out: all of them, or a refresh's recomputed ones
targets as (
    select * from messages
    where {{ in_recomputed_messages('rethreaded_messages') }}
),

by_reply_to as (
    select
        m.project,
        m.list_name,
        m.message_id,
        m.in_reply_to as parent_id
    from targets as m
    inner join messages as p
        on
            m.project = p.project
            and m.list_name = p.list_name
            and m.in_reply_to = p.message_id
    where m.in_reply_to <> m.message_id
),

-- the last References entry that is archived is the nearest ancestor we know of
by_references as (
    select
        r.project,
        r.list_name,
        r.message_id,
        r.ref_id as parent_id
    from (
        select
            project,
            list_name,
            message_id,
            unnest("references") as ref_id,
            generate_subscripts("references", 1) as ref_position
        from targets
    ) as r
    inner join messages as p
        on
            r.project = p.project
            and r.list_name = p.list_name
            and r.ref_id = p.message_id
    where r.ref_id <> r.message_id
    qualify row_number() over (
        partition by r.project, r.list_name, r.message_id order by r.ref_position desc
    ) = 1
),

-- a message that says it is a reply (Re:) and whose headers resolve to nothing archived joins
-- the earliest earlier message with the same normalized subject, within the thread its headers
-- name when they name one; a fresh post with a reused subject (a v2 series, say) starts its own
-- thread
by_subject as (
    select
        m.project,
        m.list_name,
        m.message_id,
        arg_min(c.message_id, (c.sent_at, c.message_id)) as parent_id
    from targets as m
    inner join messages as c
        on
            m.project = c.project
            and m.list_name = c.list_name
            and m.subject_normalized = c.subject_normalized
            and m.sent_at > c.sent_at
            and (not m.has_reply_headers or m.header_root_id = c.header_root_id)
    anti join by_reply_to as rt
        on m.project = rt.project and m.list_name = rt.list_name and m.message_id = rt.message_id
    anti join by_references as rf
        on m.project = rf.project and m.list_name = rf.list_name and m.message_id = rf.message_id
    where m.says_reply and coalesce(m.subject_normalized, '') <> ''
    group by all
),

final as (
    select
        m.*,
        coalesce(rt.parent_id, rf.parent_id, s.parent_id) as parent_id,
        case
            when rt.parent_id is not null then 'in_reply_to'
            when rf.parent_id is not null then 'references'
            when s.parent_id is not null then 'subject'
        end as parent_rule
    from targets as m
    left join by_reply_to as rt using (project, list_name, message_id)
    left join by_references as rf using (project, list_name, message_id)
    left join by_subject as s using (project, list_name, message_id)
)

select * from final
