{#- The per-period activity metrics shared by person and organization marts: one sum per event
    kind of int_activity_events. -#}
{% macro activity_metric_columns() -%}
        count(*) filter (where event = 'message') as messages,
        count(*) filter (where event = 'thread_started') as threads_started,
        count(*) filter (where event = 'patch_posted') as patches_posted,
        count(*) filter (where event = 'series_posted') as series_posted,
        count(*) filter (where event = 'patch_merged') as patches_merged,
        -- over the patches posted in the period that someone else answered
        median(hours_to_first_reply) filter (where event = 'patch_posted') as median_hours_to_first_reply,
        count(*) filter (where event = 'series_posted' and not is_answered) as series_unanswered,
        count(*) filter (where event = 'commit') as commits,
        coalesce(sum(lines_added) filter (where event = 'commit'), 0)::bigint as lines_added,
        coalesce(sum(lines_removed) filter (where event = 'commit'), 0)::bigint as lines_removed,
        coalesce(sum(lines_added + lines_removed) filter (where event = 'commit'), 0)::bigint as lines_changed,
        count(*) filter (where event = 'ack_given') as acks_given,
        count(*) filter (where event = 'ack_received') as acks_received,
        count(*) filter (where event = 'review_given') as reviews_given,
        count(*) filter (where event = 'review_received') as reviews_received,
        count(*) filter (where event = 'test_given') as tests_given,
        count(*) filter (where event = 'report_given') as reports_given,
        count(*) filter (where event = 'signoff_non_author') as signoffs_non_author,
        count(*) filter (where event = 'list_acked_given') as list_acks_given,
        count(*) filter (where event = 'list_acked_received') as list_acks_received,
        count(*) filter (where event = 'list_reviewed_given') as list_reviews_given,
        count(*) filter (where event = 'list_reviewed_received') as list_reviews_received
{%- endmacro %}

{#- The events of int_activity_events that happen TO a person (their work acked or reviewed):
    they count in the *_received columns but never make a person or an organization active. -#}
{% macro received_events() -%}
    'ack_received', 'review_received', 'list_acked_received', 'list_reviewed_received'
{%- endmacro %}
