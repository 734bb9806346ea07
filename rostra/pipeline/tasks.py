"""The task queue's entry points for the pipeline (Huey; SQLite or Redis storage)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from rostra.pipeline import runner


@db_task(retries=3, retry_delay=5)
def run_event_task(event_id: int) -> None:
    if not runner.run_event(event_id):
        raise RuntimeError(f"event {event_id} failed; retrying")


@db_periodic_task(crontab(minute="*"))
def sweep_events_task() -> None:
    runner.sweep()


@db_periodic_task(crontab(minute="*"))
def deliver_activities_task() -> None:
    # Federation's outbox: due deliveries in batches (rows are leased, so overlapping runs and
    # several workers share the work); what is left waits for the next minute.
    _deliver_batches()


@db_periodic_task(crontab(minute="*"))
def retry_inbox_task() -> None:
    # Inbox items that failed only because a remote could not answer are processed again on their
    # back-off schedule (federation.receive.INBOX_RETRY_SCHEDULE).
    from rostra.federation.receive import retry_due

    retry_due()


@db_task(priority=10)  # rostra.pipeline.priority.DELIVERY: after moderation and events, before optional fetches
def deliver_now_task() -> None:
    # Queued after each new activity's rows commit (federation.delivery.set_sender), so they go
    # out within a second rather than at the next minute; the same leased batches as above.
    _deliver_batches()


def _deliver_batches() -> None:
    from rostra.federation.delivery import deliver_due

    for _ in range(30):
        if deliver_due() == 0:
            break


@db_periodic_task(crontab(minute="*"))
def prune_rate_limits_task() -> None:
    # The database rate limiter keeps one row per (rule, identity, window); expired windows go.
    # (Redis expires its own counters.)
    from rostra.core.ratelimit import DatabaseBackend

    DatabaseBackend().prune()


@db_periodic_task(crontab(minute="31", hour="3"))
def prune_deliveries_task() -> None:
    # Finished deliveries are kept 30 days (what went where), then forgotten.
    from rostra.federation.delivery import prune

    prune()


@db_periodic_task(crontab(minute="53", hour="3"))
def prune_remote_media_task() -> None:
    # Cached copies of remote images nobody here interacted with go after ROSTRA_REMOTE_MEDIA_DAYS;
    # their posts show them from their origin again.
    from rostra.federation.media import prune

    prune()


@db_periodic_task(crontab(minute="17", hour="3"))
def prune_events_task() -> None:
    runner.prune()


@db_periodic_task(crontab(minute="43", hour="4"))
def optimize_search_index_task() -> None:
    # On SQLite older than 3.44 deleted posts' words linger in old FTS5 segments until merged:
    # deletion must really delete, so merge them daily.
    from rostra.search.actions import optimize_index

    optimize_index()


@db_periodic_task(crontab(minute="29"))
def discard_stale_uploads_task() -> None:
    # Uploads no post uses after a day (abandoned composes, deleted posts kept for a redraft
    # that never came) are deleted, rows and files: a deleted post's images must not outlive it.
    # Files no row names (an upload killed between writing its files and committing) go too, and
    # Idempotency-Keys past their hour.
    from rostra.posts.actions import discard_orphan_files, discard_stale_uploads, prune_idempotency_keys

    discard_stale_uploads()
    discard_orphan_files()
    prune_idempotency_keys()


@db_periodic_task(crontab(minute="*"))
def close_polls_task() -> None:
    # Polls whose time is up close; each is announced once ("poll.ended" notifies voters and author).
    from rostra.posts.polls import close_expired_polls

    close_expired_polls()


@db_periodic_task(crontab(minute="*"))
def federate_poll_counts_task() -> None:
    # Local polls whose counts changed since their last Update(Question) went out (at most one a
    # minute per poll): the new counts go to the servers that know the poll.
    from rostra.federation.polls import flush_due

    flush_due()


@db_periodic_task(crontab(minute="*/5"))
def moderation_timers_task() -> None:
    # Suspensions and holds whose period is over end; juries past their deadline close.
    from rostra.moderation.actions import close_expired_juries, lift_expired

    lift_expired()
    close_expired_juries()


@db_periodic_task(crontab(minute="*"))
def publish_scheduled_posts_task() -> None:
    # Scheduled posts whose time has come go through create_post (and so the moderation gate).
    from rostra.posts.scheduled import publish_due

    publish_due()


@db_periodic_task(crontab(minute="*/10"))
def portability_task() -> None:
    # Archives older than seven days are deleted (file and row); exports and imports whose
    # worker died are started again.
    from rostra.portability.actions import expire, tend

    expire()
    tend()


@db_periodic_task(crontab(minute="*"), priority=100)
def surge_task() -> None:
    # Surge mode in auto: on above the sign-up threshold, off after 30 minutes below it (also when
    # nobody signs up); outside a surge, the remote images a surge left pending are cached.
    from rostra.accounts import surge
    from rostra.federation.media import fetch_deferred

    surge.evaluate_auto()
    fetch_deferred()
