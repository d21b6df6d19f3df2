-- One row per project, source (mail | git | identities) and check: how much of the input was
-- rejected, repaired or guessed, so every number can be read with its caveats. The standard
-- checks are always present (0 when nothing happened); quarantine reasons appear as
-- quarantined_<reason> next to the quarantined total.
with

messages as (
    select * from {{ ref('stg_raw__mail_messages') }}
),

projects as (
    select distinct project from {{ ref('int_activity_events') }}
    union
    select distinct project from {{ ref('stg_raw__mail_quarantine') }}
    union
    select distinct project from {{ ref('stg_raw__git_quarantine') }}
),

standard_checks as (
    select
        v.col0 as source,
        v.col1 as check_name
    from (
        values
        ('mail', 'messages'),
        ('mail', 'quarantined'),
        ('mail', 'duplicate_message_id'),
        ('mail', 'duplicate_identical'),
        ('mail', 'duplicate_copy'),
        ('mail', 'missing_message_id'),
        ('mail', 'date_fallback'),
        ('mail', 'bad_charset'),
        ('mail', 'thread_by_subject'),
        ('mail', 'trailer_mismatch'),
        ('git', 'commits'),
        ('git', 'merges_excluded'),
        ('git', 'quarantined'),
        ('git', 'binary_files'),
        ('git', 'epoch_commit'),
        ('identities', 'unaffiliated_share'),
        ('identities', 'unknown_organization'),
        ('identities', 'invalid_address')
    ) as v
),

mail_counts as (
    select
        project,
        'mail' as source,
        'messages' as check_name,
        sum(n_list)::bigint as n,
        null::double as share,
        string_agg(list_name || ': ' || n_list, ', ' order by list_name) as detail
    from (
        select
            project,
            list_name,
            count(*) as n_list
        from messages
        group by all
    ) as per_list
    group by project
    union all
    select
        project,
        'mail',
        'quarantined',
        count(*),
        null,
        string_agg(distinct reason, ', ' order by reason)
    from {{ ref('stg_raw__mail_quarantine') }}
    group by project
    union all
    select
        project,
        'mail',
        'quarantined_' || reason,
        count(*),
        null,
        any_value(detail)
    from {{ ref('stg_raw__mail_quarantine') }}
    group by all
    union all
    -- events the extractor recorded on messages it kept (date fallbacks are counted below,
    -- from the messages themselves)
    select
        project,
        'mail',
        check_name,
        count(*),
        null,
        string_agg(distinct list_name, ', ' order by list_name)
    from {{ ref('stg_raw__mail_issues') }}
    where check_name not like 'date%'
    group by all
    union all
    select
        project,
        'mail',
        'date_fallback',
        count(*) filter (where date_source <> 'header'),
        count(*) filter (where date_source <> 'header') / count(*),
        string_agg(distinct date_source, ', ' order by date_source) filter (where date_source <> 'header')
    from messages
    group by project
    having count(*) filter (where date_source <> 'header') > 0
    union all
    select
        project,
        'mail',
        'thread_by_subject',
        count(*),
        null,
        'replies placed in a thread by their normalized subject only'
    from {{ ref('int_mail_messages_threaded') }}
    where parent_rule = 'subject'
    group by project
    union all
    select
        project,
        'mail',
        'trailer_mismatch',
        count(*),
        null,
        'see marts.trailer_mismatches'
    from {{ ref('int_mail_reply_trailers') }}
    where not names_sender
    group by project
),

git_counts as (
    select
        project,
        'git' as source,
        'commits' as check_name,
        count(*) filter (where not is_merge) as n,
        null::double as share,
        string_agg(distinct repository, ', ' order by repository) as detail
    from {{ ref('stg_raw__git_commits') }}
    group by project
    union all
    select
        project,
        'git',
        'merges_excluded',
        count(*) filter (where is_merge),
        null,
        'merge commits are kept in raw.git_commits and left out of every metric'
    from {{ ref('stg_raw__git_commits') }}
    group by project
    union all
    select
        project,
        'git',
        'quarantined',
        count(*),
        null,
        string_agg(distinct reason, ', ' order by reason)
    from {{ ref('stg_raw__git_quarantine') }}
    group by project
    union all
    select
        project,
        'git',
        'quarantined_' || reason,
        count(*),
        null,
        any_value(detail)
    from {{ ref('stg_raw__git_quarantine') }}
    group by all
    union all
    select
        project,
        'git',
        'binary_files',
        count(*) filter (where is_binary),
        null,
        'binary file changes count 0 lines'
    from {{ ref('stg_raw__git_file_changes') }}
    group by project
    union all
    -- commits dated (by the date that places them in periods) before var first_period_date: kept
    -- in every table but in no period
    select
        project,
        'git',
        'epoch_commit',
        count(*),
        null,
        string_agg(repository || ':' || sha, ', ' order by repository, sha)
    from {{ ref('stg_raw__git_commits') }}
    where not is_merge and activity_at < '{{ var("first_period_date") }}'::timestamp
    group by project
),

-- messages and commits whose organization is only the provisional registrable domain
identity_counts as (
    select
        project,
        'identities' as source,
        'unaffiliated_share' as check_name,
        count(*) filter (where affiliation_rule = 'registrable_domain') as n,
        count(*) filter (where affiliation_rule = 'registrable_domain') / count(*) as share,
        count(distinct address) filter (where affiliation_rule = 'registrable_domain')
        || ' addresses on marts.unaffiliated_addresses; share of messages and commits' as detail
    from {{ ref('int_activity_events') }}
    where event in ('message', 'commit') and not is_bot
    group by project
    union all
    select
        project,
        'identities',
        'unknown_organization',
        count(*) filter (where organization = '(unknown)'),
        count(*) filter (where organization = '(unknown)') / count(*),
        'acts by malformed addresses (see invalid_address) or addresses no rule covers'
    from {{ ref('int_activity_events') }}
    where event in ('message', 'commit')
    group by project
    union all
    -- values with no valid address (a typo without @, a leftover name): each is a person of
    -- its own keyed by the value, organization (unknown); count = distinct values
    select
        e.project,
        'identities',
        'invalid_address',
        count(distinct e.address),
        null,
        count(*) || ' acts; e.g. ' || min(e.address)
    from {{ ref('int_activity_events') }} as e
    inner join {{ ref('int_addresses_resolved') }} as a on e.address = a.address
    where a.is_invalid_address
    group by e.project
),

found as (
    select * from mail_counts
    union all
    select * from git_counts
    union all
    select * from identity_counts
),

final as (
    select
        k.project,
        k.source,
        k.check_name as "check",
        coalesce(f.n, 0) as count,
        f.share,
        f.detail
    from (
        select
            p.project,
            c.source,
            c.check_name
        from projects as p
        cross join standard_checks as c
        union
        select
            project,
            source,
            check_name
        from found
    ) as k
    left join found as f using (project, source, check_name)
)

select * from final
