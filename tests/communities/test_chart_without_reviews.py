"""Defect 13: a run whose projects have activity but not one ack or review anywhere must still
finish, with the acks/reviews chart drawn as its "no data" panel. Its own `commstats run`, since
any ack elsewhere in the config would hide the empty frame."""

from __future__ import annotations

import pytest

from tests.communities import builder as b
from tests.communities.conftest import failure_tail

pytestmark = pytest.mark.slow

BUILD = b.build_quiet


def test_13_run_without_acks_or_reviews_exits_0_and_draws_the_chart(community_run):
    assert community_run["returncode"] == 0, failure_tail(community_run)
    chart = community_run["charts"] / "acks_reviews_by_organization.png"
    assert chart.is_file() and chart.stat().st_size > 0


def test_13_the_quiet_project_has_activity_and_no_acks_or_reviews(community_run):
    con = community_run["con"]
    assert con is not None, failure_tail(community_run)
    commits, messages, acks, reviews = con.execute(
        "select sum(commits), sum(messages), sum(acks_given + acks_received), "
        "sum(reviews_given + reviews_received) from marts.organization_activity "
        "where project = 'quiet' and grain = 'year'"
    ).fetchone()
    assert (commits, messages, acks, reviews) == (2, 1, 0, 0)
