-- One row per patch or cover-letter message: its series, the commit it was merged as (if any)
-- and when someone else first answered it.
--
-- Series: a cover letter (counter 0) and the patches with the same sender, version and total
-- that hang below it in the thread (a 1/1 patch with its 0/1 cover letter included). Patches
-- whose cover letter is not archived are grouped by the thread their headers name
-- (header_root_id: the message their References/In-Reply-To point at, archived or not) with the
-- same sender, version and total; two postings with different roots are never one series. A
-- patch without [m/n], or a 1/1 patch without an archived 0/1 cover letter, is a series of its
-- own. A NULL sender (unrecovered DMARC rewrite) groups like any other sender value.
-- Merged: the first match of, in order, the git patch-id of the diff, a Link: (or Message-Id:)
-- trailer of a commit holding the Message-ID, or the normalized subject plus the author person.
-- First reply: the earliest direct reply (a message whose parent is that patch, or the series'
-- cover letter, which answers every patch of the series) that is not itself a patch or cover
-- letter, sent by someone else: a known sender (a NULL sender could be the author, so it never
-- answers), no bot, another person than the patch's sender (any known person answers a patch
-- whose own sender is unknown). A reply to a sibling patch, or to a later version posted in
-- reply to this one, does not answer it.
with

messages as (
    select * from {{ ref('int_mail_messages_threaded') }}
),

ancestors as (
    select * from {{ ref('int_mail_message_ancestors') }}
),

people as (
    select
        address,
        person_id,
        is_bot
    from {{ ref('int_addresses_resolved') }}
),

commits as (
    select
        c.project,
        c.repository,
        c.sha,
        c.author_address,
        c.committed_at,
        c.patch_id,
        lower(trim(c.subject)) as subject_normalized,
        p.person_id as author_person
    from {{ ref('stg_raw__git_commits') }} as c
    left join people as p on c.author_address = p.address
    where not c.is_merge
),

patch_messages as (
    select
        m.project,
        m.list_name,
        m.message_id,
        m.from_address,
        p.person_id,
        m.sent_at,
        m.subject_normalized,
        m.is_cover_letter,
        s.patch_version,
        s.patch_counter,
        s.patch_total,
        s.patch_id,
        m.header_root_id,
        r.ancestor_id as root_id
    from messages as m
    inner join {{ ref('stg_raw__mail_messages') }} as s using (project, list_name, message_id)
    inner join ancestors as r using (project, list_name, message_id)
    left join people as p on m.from_address = p.address
    where (m.is_patch or m.is_cover_letter) and r.is_root
),

-- the nearest cover letter at or above each message (itself for a cover letter) of the same
-- sender, version and total
cover_of as (
    select
        p.project,
        p.list_name,
        p.message_id,
        c.message_id as cover_id
    from patch_messages as p
    inner join ancestors as a
        on p.project = a.project and p.list_name = a.list_name and p.message_id = a.message_id
    inner join patch_messages as c
        on
            a.project = c.project
            and a.list_name = c.list_name
            and a.ancestor_id = c.message_id
            and c.is_cover_letter
            and p.from_address is not distinct from c.from_address
            and p.patch_version = c.patch_version
            and p.patch_total is not distinct from c.patch_total
    where p.patch_counter is not null
    qualify row_number() over (partition by p.project, p.list_name, p.message_id order by a.depth) = 1
),

grouped as (
    select
        p.*,
        case
            when co.cover_id is not null then co.cover_id
            -- without an archived cover letter, patches of one posting share the thread their
            -- headers name; a 1/1 has no siblings to find that way
            when coalesce(p.patch_total, 1) > 1 and p.patch_counter is not null then p.header_root_id
        end as series_anchor
    from patch_messages as p
    left join cover_of as co using (project, list_name, message_id)
),

series as (
    select
        * exclude (series_anchor),
        case
            when series_anchor is not null
                then first_value(message_id) over (
                    partition by project, list_name, series_anchor, from_address, patch_version, patch_total
                    order by is_cover_letter desc, sent_at, message_id
                )
            else message_id
        end as series_id
    from grouped
),

link_trailers as (
    select
        t.project,
        t.repository,
        t.sha,
        -- the Message-ID is the part of the URL (or bracketed value) holding an @
        regexp_extract(url_decode(t.raw_value), '([^/\s<>]+@[^/\s<>]+)', 1) as message_id
    from {{ ref('stg_raw__git_trailers') }} as t
    where t.kind in ('link', 'message-id', 'message-id-by')
),

candidates as (
    select
        p.project,
        p.list_name,
        p.message_id,
        c.repository,
        c.sha,
        'patch_id' as match_rule,
        1 as match_priority,
        c.committed_at
    from series as p
    inner join commits as c on p.project = c.project and p.patch_id = c.patch_id
    where not p.is_cover_letter
    union all
    select
        p.project,
        p.list_name,
        p.message_id,
        c.repository,
        c.sha,
        'link',
        2,
        c.committed_at
    from series as p
    inner join link_trailers as l on p.project = l.project and p.message_id = l.message_id
    inner join commits as c on l.project = c.project and l.repository = c.repository and l.sha = c.sha
    where not p.is_cover_letter
    union all
    select
        p.project,
        p.list_name,
        p.message_id,
        c.repository,
        c.sha,
        'subject_author',
        3,
        c.committed_at
    from series as p
    inner join commits as c
        on
            p.project = c.project
            and p.subject_normalized = c.subject_normalized
            and p.person_id = c.author_person
    where not p.is_cover_letter and coalesce(p.subject_normalized, '') <> ''
),

matches as (
    select *
    from candidates
    qualify row_number() over (
        partition by project, list_name, message_id
        order by match_priority, committed_at, repository, sha
    ) = 1
),

-- direct replies by someone else to a patch or to its series' cover letter
replies as (
    select
        s.project,
        s.list_name,
        s.message_id,
        min(r.sent_at) as first_reply_at
    from series as s
    inner join series as anchor
        on
            s.project = anchor.project
            and s.list_name = anchor.list_name
            and s.series_id = anchor.series_id
            and (s.message_id = anchor.message_id or anchor.is_cover_letter)
    inner join messages as r
        on
            anchor.project = r.project
            and anchor.list_name = r.list_name
            and anchor.message_id = r.parent_id
    left join people as rp on r.from_address = rp.address
    where
        r.from_address is not null
        and not r.is_patch
        and not r.is_cover_letter
        and coalesce(rp.person_id, r.from_address) is distinct from coalesce(s.person_id, s.from_address)
        and not coalesce(rp.is_bot, false)
    group by all
),

final as (
    select
        s.project,
        s.list_name,
        s.message_id,
        s.series_id,
        s.root_id,
        s.header_root_id,
        s.from_address,
        s.person_id,
        s.sent_at,
        s.is_cover_letter,
        s.patch_version,
        s.patch_counter,
        s.patch_total,
        m.repository as merged_repository,
        m.sha as merged_sha,
        m.match_rule,
        m.sha is not null as is_merged,
        r.first_reply_at,
        date_diff('second', s.sent_at, r.first_reply_at) / 3600.0 as hours_to_first_reply
    from series as s
    left join matches as m using (project, list_name, message_id)
    left join replies as r using (project, list_name, message_id)
)

select * from final
