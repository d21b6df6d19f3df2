-- One row per review trailer in a mail reply that names someone other than the reply's sender
-- (a forwarded ack, a tag pasted for a colleague): such a trailer is not counted as given by the
-- sender, and is listed here so it can be checked by hand.
select
    project,
    list_name,
    message_id,
    position,
    kind,
    trailer_name,
    trailer_address,
    from_name,
    from_address,
    sent_at,
    target_message_id
from {{ ref('int_mail_reply_trailers') }}
where not names_sender
