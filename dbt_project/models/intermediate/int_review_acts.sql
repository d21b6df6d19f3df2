-- One row per review act: (project, change, giver person, kind, occurrence) for kind acked-by,
-- reviewed-by, tested-by or reported-by. A change is a commit, or a patch message that was never
-- matched to a commit. Both sides feed it:
--   * git: every trailer line of a non-merge commit is an act (two Acked-by lines are two acts,
--     even by the same person: occurrence 1 and 2);
--   * mail: a trailer in a reply that names the reply's sender, on the patch the reply is about;
--     on a cover letter it applies to every patch of the series. On a patch that was merged it is
--     keyed by the commit as occurrence 1, so the ack given on the list and carried into the
--     commit counts once; several list replies with the same trailer for one patch are one act.
-- The act is dated by the commit (period date) when the commit carries it, else by the reply.
-- The receiver is the commit's author, else the patch's sender. A reply whose parent is not
-- archived still gives its sender the act, keyed by the Message-ID it answers (or by the reply
-- itself when its headers name nothing); its receiver is unknown (null), never guessed.
with

people as (
    select
        address,
        person_id
    from {{ ref('int_addresses_resolved') }}
),

commits as (
    select * from {{ ref('stg_raw__git_commits') }}
    where not is_merge
),

patches as (
    select * from {{ ref('int_patches') }}
),

git_acts as (
    select
        c.project,
        'commit:' || c.repository || ':' || c.sha as change_key,
        t.kind,
        t.address as giver_address,
        c.author_address as receiver_address,
        c.activity_at as occurred_at,
        'git' as origin,
        t.position,
        coalesce(p.person_id, t.address) as giver_person,
        row_number() over (
            partition by c.project, c.repository, c.sha, coalesce(p.person_id, t.address), t.kind
            order by t.position
        ) as occurrence
    from {{ ref('stg_raw__git_trailers') }} as t
    inner join commits as c using (project, repository, sha)
    left join people as p on t.address = p.address
    where t.kind in ('acked-by', 'reviewed-by', 'tested-by', 'reported-by') and t.address is not null
),

named_reply_trailers as (
    select * from {{ ref('int_mail_reply_trailers') }}
    where names_sender
),

-- the patches a reply trailer lands on: the target patch, every patch of a cover letter's
-- series, or the answered message itself when it is no patch
targets as (
    select
        t.*,
        coalesce(p.message_id, t.target_message_id) as change_message_id
    from named_reply_trailers as t
    left join patches as target
        on
            t.project = target.project
            and t.list_name = target.list_name
            and t.target_message_id = target.message_id
    -- a cover letter's series gives its patches; any other target stays itself (the coalesce).
    -- Equalities only: DuckDB 1.4 plans a left join whose condition holds an OR, or a test of the
    -- left side alone, as a nested loop over every pair (replies x patches)
    left join patches as p
        on
            target.project = p.project
            and target.list_name = p.list_name
            and case when target.is_cover_letter then target.series_id end = p.series_id
            and not p.is_cover_letter
),

mail_acts as (
    select
        t.project,
        case
            when p.is_merged then 'commit:' || p.merged_repository || ':' || p.merged_sha
            when t.change_message_id is not null then 'message:' || t.list_name || ':' || t.change_message_id
            else 'reply:' || t.list_name || ':' || t.message_id
        end as change_key,
        t.kind,
        coalesce(t.trailer_address, t.from_address) as giver_address,
        coalesce(c.author_address, m.from_address) as receiver_address,
        t.sent_at as occurred_at,
        'mail' as origin,
        t.position,
        coalesce(gp.person_id, t.trailer_address, t.from_address) as giver_person,
        1 as occurrence
    from targets as t
    left join people as gp on coalesce(t.trailer_address, t.from_address) = gp.address
    left join patches as p
        on t.project = p.project and t.list_name = p.list_name and t.change_message_id = p.message_id
    left join commits as c
        on p.project = c.project and p.merged_repository = c.repository and p.merged_sha = c.sha
    left join {{ ref('stg_raw__mail_messages') }} as m
        on
            t.project = m.project
            and t.list_name = m.list_name
            and case when t.target_is_archived then t.change_message_id end = m.message_id
    -- a trailer with no address from a sender nobody knows names no person
    where coalesce(t.trailer_address, t.from_address) is not null
),

all_acts as (
    select * from git_acts
    union all
    select * from mail_acts
),

final as (
    select
        project,
        change_key,
        kind,
        giver_person,
        occurrence,
        project || '|' || change_key || '|' || giver_person || '|' || kind || '|' || occurrence as act_key,
        giver_address,
        receiver_address,
        occurred_at,
        origin as dated_by,
        bool_or(origin = 'git') over w as in_git,
        bool_or(origin = 'mail') over w as on_list
    from all_acts
    window w as (partition by project, change_key, giver_person, kind, occurrence)
    qualify row_number() over (
        partition by project, change_key, giver_person, kind, occurrence
        order by origin = 'git' desc, occurred_at, position
    ) = 1
)

select * from final
