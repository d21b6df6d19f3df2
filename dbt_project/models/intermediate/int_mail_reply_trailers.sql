-- One row per review trailer (Acked-by, Reviewed-by, Tested-by, Reported-by) in a reply: a
-- message that is neither a patch nor a cover letter and answers another message, archived or
-- not (it has a parent, or reply headers, or says Re:). A patch's own trailers are its author's,
-- carried in git as well. A reply whose parent is not archived still gives its sender the act;
-- only the receiving side is unknown (target_is_archived false). names_sender says whether the trailer
-- names the reply's sender (same address, same person, or same name); only those count as given
-- by the sender, the others are mismatches (a forwarded ack, a pasted tag) kept for auditing.
-- target_message_id is the patch or cover letter the reply is about: the nearest one above it in
-- the thread, else the archived message it answers, else the Message-ID its headers answer
-- (In-Reply-To, else the last References entry), which is not in the archive; null for a Re:
-- without reply headers that matched nothing.
with

messages as (
    select * from {{ ref('int_mail_messages_threaded') }}
),

people as (
    select
        address,
        person_id
    from {{ ref('int_addresses_resolved') }}
),

trailers as (
    select * from {{ ref('stg_raw__mail_trailers') }}
    where kind in ('acked-by', 'reviewed-by', 'tested-by', 'reported-by')
),

replies as (
    select * from messages
    where
        not is_patch
        and not is_cover_letter
        and (parent_id is not null or has_reply_headers or says_reply)
),

nearest_patch as (
    select
        a.project,
        a.list_name,
        a.message_id,
        a.ancestor_id as target_message_id
    from {{ ref('int_mail_message_ancestors') }} as a
    inner join messages as m
        on a.project = m.project and a.list_name = m.list_name and a.ancestor_id = m.message_id
    where a.depth > 0 and (m.is_patch or m.is_cover_letter)
    qualify row_number() over (partition by a.project, a.list_name, a.message_id order by a.depth) = 1
),

final as (
    select
        t.project,
        t.list_name,
        t.message_id,
        t.position,
        t.kind,
        t.name as trailer_name,
        t.address as trailer_address,
        r.from_name,
        r.from_address,
        r.sent_at,
        coalesce(np.target_message_id, r.parent_id, r.in_reply_to, r."references"[-1]) as target_message_id,
        coalesce(np.target_message_id, r.parent_id) is not null as target_is_archived,
        coalesce(
            t.address = r.from_address
            or tp.person_id = sp.person_id
            or lower(trim(t.name)) = lower(trim(r.from_name)),
            false
        ) as names_sender
    from trailers as t
    inner join replies as r using (project, list_name, message_id)
    left join nearest_patch as np using (project, list_name, message_id)
    left join people as tp on t.address = tp.address
    left join people as sp on r.from_address = sp.address
)

select * from final
