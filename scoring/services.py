"""Score runs: requesting a recompute of a round (debounced), running it, and reading the result.

Debouncing, in three layers:

* Each web process gathers its submissions' triggers and sends each round's once a batch, at most
  ``SCORE_TRIGGER_BATCH_SECONDS`` after the commits (``_TriggerBatch``, ``score_run_trigger_soon``),
  the batch's Redis keys (below) in one round trip.
* Redis key ``score-run-queued:<round>``, set with ``cache.add()`` by whoever queues a run and
  deleted by the worker that claims it. While it is there, a run that has not started yet exists and
  will see every response committed before it starts, so a trigger costs one Redis call and no query:
  a burst of 1,000 submissions queues one run. The key expires by itself (``QUEUED_KEY_TTL``) in case
  the worker could not delete it.
* The database: at most one queued run per round (a partial unique constraint). A trigger that gets
  past the key inserts a queued run, or finds the queued one and leaves it alone.

A run starts at least ``MIN_INTERVAL`` seconds after the round's previous run started, and up to
``RUN_SPREAD`` more when it has to wait (the task is enqueued with a countdown). Two runs of a round
never run together (the partial unique constraint on "running"): a run claimed while another runs
is left queued and tried again later.
"""

import functools
import json
import logging
import os
import secrets
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Exists, Max, OuterRef, Q, Subquery
from django.utils import timezone, translation

from fieldwork.models import Response, Round, token_digest
from scoring import wording
from scoring.engine import without_gc
from scoring.models import ApiToken, ScorePending, ScoreRun, UnitScore
from surveyapp.internals import cache_add_many_nx
from units.models import Unit

logger = logging.getLogger(__name__)

MIN_INTERVAL = 60  # seconds between the starts of two runs of a round
# A busy round's next run waits up to this many seconds more, at random: rounds that became busy
# together (a morning's first responses, a server start) would otherwise run in the same few seconds
# of every minute, and at hundreds of responses a second their burst of score writes (3,500 rows of
# 3.5 kB at a national round) slows every commit of the kiosks (bench/load.py saw p99 go from
# 20-50 ms to 0.4-1.2 s during it). Spread out, the same work is a trickle.
RUN_SPREAD = 20
QUEUED_KEY_TTL = 90  # seconds; longer than MIN_INTERVAL + RUN_SPREAD, so the key outlives its countdown
REDIS_UNAVAILABLE = "redis-unavailable"  # a batch's answer for a key when Redis did not answer
STALE_QUEUED = timedelta(minutes=10)  # a queued run this old lost its task (broker down): enqueue it again
ERROR_LINES = 12  # of the traceback, kept in ScoreRun.error
# Runs that count every response again; the others add the changes since the last count (the
# engine counts in full anyway when there is nothing stored to add to).
FULL_REASONS = ("command", "settings")


def _engine(survey_round, progress=None, full=True):
    from scoring.engine import compute_round

    return compute_round(survey_round, progress=progress, full=full)


# The scoring engine: ``compute_round(survey_round, progress=None) -> RoundResult`` (scoring.engine).
# A module-level hook so that a test can run the job machinery with a small engine of its own.
ENGINE = _engine


def _queued_key(round_id) -> str:
    return f"score-run-queued:{round_id}"


# ---------------------------------------------------------------------------------------------
# Requesting a run


def score_run_trigger(round_id: int, reason: str, *, key_claimed=None) -> None:
    """``score_run_request`` for callers that must never fail because of it (a citizen's submission,
    an exclusion): Redis, the database or the broker being down is logged, and the beat catches up."""
    try:
        score_run_request(round_id=round_id, reason=reason, key_claimed=key_claimed)
    except Exception:
        logger.exception("could not request a score run of round %s (%s)", round_id, reason)


class _TriggerBatch:
    """Score triggers gathered in this process and sent from a timer thread, each round once a batch.

    A kiosk submission's trigger would otherwise be a Redis call inside the request, after its
    commit: 0.09 ms of the web process's CPU for every response (and, with Redis hanging, seconds of
    the citizen's wait), where a round needs one call a minute at most. Every trigger is still sent
    after the commit it stands for, at most ``SCORE_TRIGGER_BATCH_SECONDS`` later. The timer thread
    is not a daemon, so a process that exits normally sends what it holds first; one killed in
    between leaves its responses' pending score changes for the beat (``scoring.tasks``), which
    requests a run of every round that has some."""

    def __init__(self):
        self._lock = threading.Lock()
        self._reasons = {}  # round id -> the reason of its first trigger in this batch
        self._timer = None
        os.register_at_fork(after_in_child=self._forget)  # a forked child has no timer thread

    def add(self, round_id: int, reason: str, delay: float) -> None:
        with self._lock:
            self._reasons.setdefault(round_id, reason)
            if self._timer is None:
                self._timer = threading.Timer(delay, self.send)
                self._timer.name = "score-trigger-batch"
                self._timer.start()

    def send(self) -> None:
        with self._lock:
            reasons, self._reasons, self._timer = self._reasons, {}, None
        try:
            # The rounds' Redis keys in one round trip (a national load touches every round each second).
            claimed = _claim_queued_keys(reasons)
            for round_id, reason in reasons.items():
                score_run_trigger(round_id, reason, key_claimed=claimed.get(round_id))
        finally:
            connections.close_all()  # this thread's own database connection, if it opened one

    def _forget(self):
        self._lock, self._reasons, self._timer = threading.Lock(), {}, None


_trigger_batch = _TriggerBatch()


def score_run_trigger_soon(round_id: int, reason: str) -> None:
    """``score_run_trigger`` within ``SCORE_TRIGGER_BATCH_SECONDS``, once for all the triggers of the
    round in this process meanwhile (see ``_TriggerBatch``); at once when the setting is 0. Call it
    after the commit, as ``score_run_trigger``."""
    delay = settings.SCORE_TRIGGER_BATCH_SECONDS
    if delay <= 0:
        score_run_trigger(round_id, reason)
    else:
        _trigger_batch.add(round_id, reason, delay)


def score_run_request(*, round_id: int, reason: str, key_claimed=None) -> ScoreRun | None:
    """Make sure a run of the round is queued; returns it, or None when the Redis key says one is.

    The task is enqueued once per queued run, after the commit, with a countdown that keeps runs of a
    round at least ``MIN_INTERVAL`` seconds apart. ``key_claimed``: the caller has already tried to
    set the round's key (``_claim_queued_keys``): True it did, False it was there, REDIS_UNAVAILABLE
    Redis did not answer; None: try here.
    """
    key = _queued_key(round_id)
    if key_claimed is None:
        try:
            key_claimed = cache.add(key, reason, timeout=QUEUED_KEY_TTL)
        except Exception:
            key_claimed = REDIS_UNAVAILABLE
    if key_claimed is REDIS_UNAVAILABLE:
        logger.warning("Redis unavailable: debouncing score runs of round %s by the database only", round_id)
    elif not key_claimed:
        return None  # a run is queued and has not started: it will see this change
    try:
        return _queue_run(round_id, reason, resend=key_claimed is True)
    except Exception:
        _forget_key(key)  # no run stands behind the key
        raise


def _claim_queued_keys(reasons: dict) -> dict:
    """``cache.add`` of the rounds' queued-run keys in one Redis round trip: {round id: True when
    this call set the key, False when it was there}, or ``REDIS_UNAVAILABLE`` for each when Redis
    did not answer (each round is then requested by the database alone, as ``score_run_request``
    does without Redis, with no second wait for Redis)."""
    keys = {round_id: _queued_key(round_id) for round_id in reasons}
    try:
        claimed = cache_add_many_nx({keys[round_id]: reason for round_id, reason in reasons.items()},
                                    QUEUED_KEY_TTL)
    except Exception:
        logger.warning("Redis unavailable: debouncing score runs of %s rounds by the database only", len(keys))
        return dict.fromkeys(keys, REDIS_UNAVAILABLE)
    return {round_id: claimed[key] for round_id, key in keys.items()}


def _queue_run(round_id, reason, resend) -> ScoreRun:
    for _attempt in range(3):
        try:
            with transaction.atomic():
                run = ScoreRun.objects.create(round_id=round_id, reason=reason, status=ScoreRun.Status.QUEUED)
            break
        except IntegrityError:
            existing = ScoreRun.objects.filter(round_id=round_id, status=ScoreRun.Status.QUEUED).first()
            if existing is not None:
                # Join the queued run. When we have just set the Redis key, it had expired or Redis
                # lost it, perhaps with the run's task (Redis restarted empty): send the task again.
                # A second task of the same run is harmless (runs are claimed by compare-and-swap),
                # and the key keeps this to once per QUEUED_KEY_TTL. With Redis down, the beat does it.
                if resend:
                    countdown = _countdown(round_id)
                    transaction.on_commit(functools.partial(_enqueue, existing.pk, countdown))
                return existing
            # the queued run started in between: try again
    else:
        raise RuntimeError(f"could not queue a score run of round {round_id}")
    countdown = _countdown(round_id)
    transaction.on_commit(lambda: _enqueue(run.pk, countdown))
    return run


def _countdown(round_id) -> int:
    """Seconds to wait so that the run starts at least MIN_INTERVAL after the last one started, and
    up to RUN_SPREAD more when it must wait at all (a quiet round's run starts at once)."""
    last_start = ScoreRun.objects.filter(round_id=round_id).aggregate(last=Max("started_at"))["last"]
    if last_start is None:
        return 0
    wait = MIN_INTERVAL - (timezone.now() - last_start).total_seconds()
    return 0 if wait <= 0 else int(wait + 0.999) + secrets.randbelow(RUN_SPREAD + 1)


def _enqueue(run_id: int, countdown: int) -> None:
    from scoring import tasks

    try:
        # With the broker down this gives up after one retry (CELERY_TASK_PUBLISH_RETRY_POLICY) and
        # the socket timeouts of CELERY_BROKER_TRANSPORT_OPTIONS: a few seconds at most.
        tasks.recompute_round.apply_async(args=[run_id], countdown=countdown)
    except Exception:
        # The run stays queued; score_runs_reap (beat) enqueues it again once the broker is back.
        logger.exception("could not enqueue score run %s", run_id)


def _forget_key(key) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.warning("could not delete the Redis key %s; it expires by itself", key)


# ---------------------------------------------------------------------------------------------
# Running


def score_run_execute(*, run_id: int, progress=None) -> ScoreRun | None:
    """Claim a queued run and compute it; a run someone else claimed is left alone.

    The results replace the round's previous scores in one transaction. A failure is recorded on
    the run (status failed, the end of the traceback) and the previous scores stay in place.
    ``progress(done, total)`` is called as units are computed.
    """
    started = timezone.now()
    try:
        with transaction.atomic():
            claimed = ScoreRun.objects.filter(pk=run_id, status=ScoreRun.Status.QUEUED).update(
                status=ScoreRun.Status.RUNNING, started_at=started)
    except IntegrityError:
        return _retry_later(run_id)  # another run of this round is running
    run = ScoreRun.objects.select_related("round__questionnaire", "round__unit").filter(pk=run_id).first()
    if not claimed:
        return run  # done, failed or running elsewhere (or gone): nothing to do
    _forget_key(_queued_key(run.round_id))  # from now on, changes need a new run
    try:
        with without_gc():  # scoring.engine.without_gc: storing makes as many objects as the figures
            full = run.reason in FULL_REASONS or _needs_full(run)
            result = ENGINE(run.round, progress=_progress_recorder(run, progress), full=full)
            _store(run, result, started)
    except Exception:
        logger.exception("score run %s of round %s failed", run.pk, run.round_id)
        _fail(run.pk, _error_text())
    run.refresh_from_db()
    return run


def _needs_full(run) -> bool:
    """Whether the round's previous run failed: a refresh commits the changes it counted before it
    stores the figures, so a failure in between leaves figures that no pending change would bring
    up to date. Counting everything again repairs them."""
    previous = (ScoreRun.objects.filter(round_id=run.round_id, started_at__isnull=False)
                .exclude(pk=run.pk).order_by("-started_at").values_list("status", flat=True).first())
    return previous == ScoreRun.Status.FAILED


def _retry_later(run_id):
    run = ScoreRun.objects.filter(pk=run_id).first()
    if run is not None and run.status == ScoreRun.Status.QUEUED:
        transaction.on_commit(lambda: _enqueue(run.pk, MIN_INTERVAL))
    return run


def _progress_recorder(run, progress):
    """A progress callback that keeps units_done/units_total on the run (at most once a second)."""
    last_saved = [0.0]

    def record(done, total):
        now = time.monotonic()
        if now - last_saved[0] >= 1 or done >= total:
            last_saved[0] = now
            ScoreRun.objects.filter(pk=run.pk).update(units_done=done, units_total=total)
        if progress is not None:
            progress(done, total)

    return record


def _store(run, result, started) -> None:
    """Replace the round's scores (a full run) or those of the units a refresh touched, in one
    transaction, so that a page never sees half a run."""
    now = timezone.now()
    full = getattr(result, "full", True)
    with transaction.atomic(), connection.cursor() as cursor:
        if full:
            UnitScore.objects.filter(round_id=run.round_id).delete()
        else:
            UnitScore.objects.filter(round_id=run.round_id, unit_id__in=list(result.removed)).delete()
            _update_published(cursor, run.round_id, result.published_updates)
        _write_scores(cursor, run, result.units, now, upsert=not full)
        updated = ScoreRun.objects.filter(pk=run.pk, status=ScoreRun.Status.RUNNING).update(
            status=ScoreRun.Status.DONE, finished_at=now, responses_used=result.responses_used,
            full=full,
            units_total=len(result.units), units_done=len(result.units), error="",
        )
        if not updated:  # the reaper gave up on this run meanwhile: its results must not count
            raise RuntimeError(f"run {run.pk} is no longer running (reaped after {now - started})")


SCORE_COLUMNS = ("run_id", "round_id", "unit_id", "n", "enough", "withheld", "headline", "headline_low",
                 "headline_high", "weighted_headline", "factors", "items", "indicators", "expectations", "rank",
                 "rank_of", "change_points", "change_places", "computed_at")
JSON_COLUMNS = {"factors", "items", "indicators", "expectations"}


SCORE_PAGE = 500  # UnitScore rows per INSERT


def _write_scores(cursor, run, units, computed_at, *, upsert) -> None:
    """Insert the units' UnitScore rows, ``SCORE_PAGE`` per statement, the JSON columns dumped once
    here (model instances and Django's per-field preparation cost more than the insert itself);
    with ``upsert`` a unit's existing row is overwritten (a refresh).

    With several pages (a full run: 3,500 units are 7), a thread sends each page while this one
    dumps the next: the server's JSON parsing and Python's dumping, each about half a second at
    3,500 units, overlap. One statement at a time on the connection, in its transaction."""
    from psycopg2.extras import execute_values

    template = "(" + ", ".join("%s::jsonb" if c in JSON_COLUMNS else "%s" for c in SCORE_COLUMNS) + ")"
    sql = f"INSERT INTO {UnitScore._meta.db_table} ({', '.join(SCORE_COLUMNS)}) VALUES %s"
    if upsert:
        sql += " ON CONFLICT (round_id, unit_id) DO UPDATE SET " + ", ".join(
            f"{column} = EXCLUDED.{column}" for column in SCORE_COLUMNS if column not in ("round_id", "unit_id"))
    pages = [units[first:first + SCORE_PAGE] for first in range(0, len(units), SCORE_PAGE)]
    if len(pages) <= 1:
        for page in pages:
            execute_values(cursor, sql, [_score_row(run, unit, computed_at) for unit in page], template=template,
                           page_size=SCORE_PAGE)
        return
    with ThreadPoolExecutor(max_workers=1) as sender:
        sending = None
        for page in pages:
            rows = [_score_row(run, unit, computed_at) for unit in page]
            if sending is not None:
                sending.result()  # the previous page is in (or its error is raised here)
            sending = sender.submit(execute_values, cursor, sql, rows, template=template, page_size=SCORE_PAGE)
        sending.result()


def _score_row(run, unit, computed_at) -> tuple:
    low, high = unit.headline_ci if unit.headline_ci else (None, None)
    return (run.pk, run.round_id, unit.unit_id, unit.n, unit.enough, unit.withheld, unit.headline, low, high,
            unit.weighted_headline, json.dumps(unit.factors), json.dumps(unit.items), json.dumps(unit.indicators),
            json.dumps(unit.expectations), unit.rank, unit.rank_of, unit.change_points, unit.change_places,
            computed_at)


def _update_published(cursor, round_id, updates) -> None:
    """Store what moved for untouched units (withholding, ranks, changes: ``engine.PUBLISHED``) in
    one statement (bulk_update builds a CASE per row)."""
    if not updates:
        return
    from psycopg2.extras import execute_values

    execute_values(
        cursor,
        f"UPDATE {UnitScore._meta.db_table} AS s SET enough = v.enough, withheld = v.withheld, rank = v.rank, "
        "rank_of = v.rank_of, change_points = v.points, change_places = v.places "
        "FROM (VALUES %s) AS v(unit_id, enough, withheld, rank, rank_of, points, places) "
        f"WHERE s.round_id = {int(round_id)} AND s.unit_id = v.unit_id",
        [(unit_id, *values) for unit_id, values in sorted(updates.items())],
        template="(%s, %s::boolean, %s::text, %s::int, %s::int, %s::float8, %s::int)", page_size=1000,
    )


def _error_text() -> str:
    lines = traceback.format_exc().strip().splitlines()
    return "\n".join(lines[-ERROR_LINES:])


def _fail(run_id, error) -> None:
    ScoreRun.objects.filter(pk=run_id, status=ScoreRun.Status.RUNNING).update(
        status=ScoreRun.Status.FAILED, error=error, finished_at=timezone.now())


def score_run_for_command(*, round_id: int) -> ScoreRun:
    """A queued run for ``recompute_scores``: the round's queued run if there is one, else a new one."""
    try:
        with transaction.atomic():
            return ScoreRun.objects.create(round_id=round_id, reason="command", status=ScoreRun.Status.QUEUED)
    except IntegrityError:
        return ScoreRun.objects.get(round_id=round_id, status=ScoreRun.Status.QUEUED)


# ---------------------------------------------------------------------------------------------
# Housekeeping (beat)


def score_runs_reap() -> tuple[int, int]:
    """Fail runs left "running" by a killed worker; enqueue again runs queued long ago (a task lost
    while the broker was down). Returns (failed, enqueued)."""
    now = timezone.now()
    limit = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    failed = ScoreRun.objects.filter(status=ScoreRun.Status.RUNNING, started_at__lt=now - limit).update(
        status=ScoreRun.Status.FAILED, finished_at=now,
        error=f"worker lost: still running {limit.total_seconds():.0f} s after it started")
    stale = list(ScoreRun.objects.filter(status=ScoreRun.Status.QUEUED, created_at__lt=now - STALE_QUEUED)
                 .values_list("pk", flat=True))
    for run_id in stale:
        transaction.on_commit(lambda run_id=run_id: _enqueue(run_id, 0))
    return failed, len(stale)


def rounds_needing_scores():
    """Open rounds whose scores are behind: with pending changes not taken in yet (every stored,
    excluded or restored response leaves one, and a run consumes them), with responses but no done
    run, or whose latest run failed after the last done one (its changes may be counted but not
    stored: the next run counts in full, see ``_needs_full``).

    Reads ``ScorePending`` by its round index and ``ScoreRun`` rows, never the responses' times: at
    millions of responses a "received after the last run" test is a scan (there is no index on it)."""
    runs = ScoreRun.objects.filter(round=OuterRef("pk"))
    last_done = runs.filter(status=ScoreRun.Status.DONE).order_by("-started_at").values("started_at")[:1]
    rounds = Round.objects.filter(status=Round.Status.OPEN).annotate(watermark=Subquery(last_done))
    return rounds.filter(
        Exists(ScorePending.objects.filter(round=OuterRef("pk")))
        | (Q(watermark__isnull=True) & Exists(Response.objects.filter(round=OuterRef("pk"))))
        | Exists(runs.filter(status=ScoreRun.Status.FAILED, started_at__gte=OuterRef("watermark")))
    )


def score_runs_request_stale() -> list[int]:
    """Request a run of every open round whose scores are behind; returns their ids."""
    round_ids = list(rounds_needing_scores().values_list("pk", flat=True))
    for round_id in round_ids:
        score_run_request(round_id=round_id, reason="beat")
    return round_ids


# ---------------------------------------------------------------------------------------------
# Reads and tokens


def scores_for_api(*, survey_round: Round, unit: Unit, whole_round: bool = True) -> dict | None:
    """The score API's body for a unit in a round, from the stored scores; None if none are stored.

    A withheld unit (too few responses, or withheld to protect one: ``scoring.disclosure``) has n and
    the reason, never a figure: the pages' sentence (``scoring.wording``), in English as all the JSON.
    ``responses_used`` (the round's whole count) only for a reader who sees the whole round
    (``whole_round``)."""
    score = UnitScore.objects.select_related("run").filter(round=survey_round, unit=unit).first()
    if score is None:
        return None
    body = {
        "round": survey_round.pk,
        "unit": unit.code,
        "unit_name": unit.name,
        "n": score.n,
        "enough": score.enough,
        "headline": {"value": None, "ci": None},
        "weighted_headline": {"value": None, "method": "post-stratified by service field"},
        "factors": {}, "items": {}, "indicators": {}, "expectations": [],
        "rank": score.rank,
        "rank_of": score.rank_of,
        "change": {"points": score.change_points, "places": score.change_places},
        "computed_at": score.computed_at.isoformat(),
        "responses_used": score.run.responses_used if whole_round else None,
        "run": score.run_id,
    }
    if not score.enough:
        with translation.override("en"):
            body["withheld"] = wording.withheld_sentence(score.n, survey_round.questionnaire.min_responses,
                                                         score.withheld)
        return body
    headline_ci = [score.headline_low, score.headline_high] if score.headline_low is not None else None
    body.update({
        "headline": {"value": score.headline, "ci": headline_ci},
        "weighted_headline": {**body["weighted_headline"], "value": score.weighted_headline},
        "factors": score.factors, "items": score.items, "indicators": score.indicators,
        "expectations": score.expectations,
    })
    return body


def api_token_create(*, user, name="") -> tuple[ApiToken, str]:
    """A new read-API token for the user; the key is shown once, only its SHA-256 is kept."""
    key = secrets.token_urlsafe(32)
    return ApiToken.objects.create(user=user, name=name, key_hash=token_digest(key)), key


def api_token_user(key: str):
    """The active user of an API token key, or None. Notes the token's use (at most once a minute)."""
    token = ApiToken.objects.select_related("user").filter(
        key_hash=token_digest(key), revoked_at__isnull=True, user__is_active=True).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
