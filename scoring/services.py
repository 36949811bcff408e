"""Score runs: queuing a recompute of a round when its responses changed, running it, and reading the result.

Scoring pulls. fieldwork records every change the scores must take in, in the transaction of the
change itself: a ``fieldwork.models.ResponseChange`` row (+1 stored or restored, -1 excluded), and
``Round.counts_reset_at`` when the stored counts are wrong as a whole (``score_over_quota``
changed). Nothing else tells scoring: the beat task ``poll_changes`` runs every
``SCORE_POLL_SECONDS`` and ``score_runs_poll`` queues a run of every round with changes and no run
waiting (``rounds_with_changes``, one query over the change log's round index). The run consumes
the round's changes in the transaction that counts them (``scoring.counting``).

Debouncing: at most one queued run per round (a partial unique constraint). A run that has not
started yet sees every change committed before it starts, so a round with a queued run is skipped by
the poll, and a burst of 1,000 submissions makes one run.

A run starts at least ``MIN_INTERVAL`` seconds after the round's previous run started, and up to
``RUN_SPREAD`` more when it has to wait (the task is enqueued with a countdown). Two runs of a round
never run together (the partial unique constraint on "running"): a run claimed while another runs
is left queued and tried again later. A queued run whose task was lost (the broker down when it was
sent, or restarted empty) is sent again by the reaper (``score_runs_reap``) after ``STALE_QUEUED``.
"""

import json
import logging
import secrets
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, OuterRef, Q, Subquery
from django.utils import timezone, translation

from fieldwork.models import Response, ResponseChange, Round, token_digest
from scoring import breakdowns, ranking, wording
from scoring.engine import without_gc
from scoring.models import ApiToken, ScoreRun, UnitScore
from surveyapp.celery import app as celery_app
from units.models import Unit

logger = logging.getLogger(__name__)

MIN_INTERVAL = 60  # seconds between the starts of two runs of a round
# A busy round's next run waits up to this many seconds more, at random: rounds that became busy
# together (a morning's first responses, a server start) would otherwise run in the same few seconds
# of every minute, and at hundreds of responses a second their burst of score writes (3,500 rows of
# 3.5 kB at a national round) slows every commit of the kiosks (bench/load.py saw p99 go from
# 20-50 ms to 0.4-1.2 s during it). Spread out, the same work is a trickle.
RUN_SPREAD = 20
STALE_QUEUED = timedelta(minutes=10)  # a queued run this old lost its task (broker down): enqueue it again
ERROR_LINES = 12  # of the traceback, kept in ScoreRun.error
# Runs that count every response again; the others add the changes since the last count (the
# engine counts in full anyway when there is nothing stored to add to, and after a counts reset).
FULL_REASONS = ("command", "settings")


def _engine(survey_round, progress=None, full=True):
    from scoring.engine import compute_round

    return compute_round(survey_round, progress=progress, full=full)


# The scoring engine: ``compute_round(survey_round, progress=None) -> RoundResult`` (scoring.engine).
# A module-level hook so that a test can run the job machinery with a small engine of its own.
ENGINE = _engine


# ---------------------------------------------------------------------------------------------
# Requesting a run


def score_run_request(*, round_id: int, reason: str) -> tuple[ScoreRun, bool]:
    """Make sure a run of the round is queued: (the run, whether this call queued it) — False when
    one was queued already (it will see every change committed before it starts).

    The task is enqueued once per queued run, after the commit, with a countdown that keeps runs of a
    round at least ``MIN_INTERVAL`` seconds apart."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                run = ScoreRun.objects.create(round_id=round_id, reason=reason, status=ScoreRun.Status.QUEUED)
            break
        except IntegrityError:
            existing = ScoreRun.objects.filter(round_id=round_id, status=ScoreRun.Status.QUEUED).first()
            if existing is not None:
                return existing, False  # join it: it will see this change (a lost task: score_runs_reap)
            # the queued run started in between: try again
    else:
        raise RuntimeError(f"could not queue a score run of round {round_id}")
    countdown = _countdown(round_id)
    transaction.on_commit(lambda: _enqueue(run.pk, countdown))
    return run, True


def _countdown(round_id) -> int:
    """Seconds to wait so that the run starts at least MIN_INTERVAL after the last one started, and
    up to RUN_SPREAD more when it must wait at all (a quiet round's run starts at once)."""
    last_start = ScoreRun.objects.filter(round_id=round_id).aggregate(last=Max("started_at"))["last"]
    if last_start is None:
        return 0
    wait = MIN_INTERVAL - (timezone.now() - last_start).total_seconds()
    return 0 if wait <= 0 else int(wait + 0.999) + secrets.randbelow(RUN_SPREAD + 1)


# The task that executes a run (scoring/tasks.py registers it under this name). Sent by name, so
# that tasks.py, which calls this module, is not imported back by it: the house reads one way.
RECOMPUTE_TASK = "scoring.tasks.recompute_round"


def _send(*, args, countdown) -> None:
    celery_app.send_task(RECOMPUTE_TASK, args=args, countdown=countdown)


def _enqueue(run_id: int, countdown: int) -> None:
    try:
        # With the broker down this gives up after one retry (CELERY_TASK_PUBLISH_RETRY_POLICY) and
        # the socket timeouts of CELERY_BROKER_TRANSPORT_OPTIONS: a few seconds at most.
        _send(args=[run_id], countdown=countdown)
    except Exception:
        # The run stays queued; score_runs_reap (beat) enqueues it again once the broker is back.
        logger.exception("could not enqueue score run %s", run_id)


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
    reset = _take_counts_reset(run)
    try:
        with without_gc():  # scoring.engine.without_gc: storing makes as many objects as the figures
            full = reset or run.reason in FULL_REASONS or _needs_full(run)
            result = ENGINE(run.round, progress=_progress_recorder(run, progress), full=full)
            _store(run, result, started)
    except Exception:
        logger.exception("score run %s of round %s failed", run.pk, run.round_id)
        _fail(run.pk, _error_text())
    run.refresh_from_db()
    return run


def _take_counts_reset(run) -> bool:
    """Whether fieldwork asked for the stored counts to be made again (``Round.counts_reset_at``),
    clearing the request. The update waits for a settings change still being committed (its row
    lock), and the round is read again after it, so the count uses the rule that asked for it. A run
    that fails after this leaves a failed run, and the next one counts in full (``_needs_full``)."""
    reset = Round.objects.filter(pk=run.round_id, counts_reset_at__isnull=False).update(counts_reset_at=None)
    if reset:
        run.round.refresh_from_db()
    return bool(reset)


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
        breakdowns.count_wanted(cursor, run.round_id, now)  # the cells follow the figures (scoring.breakdowns)
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
    """Store what moved for untouched units (withholding, ranks, changes: ``scoring.ranking.PUBLISHED``) in
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


def rounds_with_changes():
    """Rounds with changes in fieldwork's change log not taken in yet (every stored, excluded or
    restored response leaves one, and a run consumes them) or a counts reset asked for, whatever
    their status (a late arrival may reach a closed round): what the poll looks for every few
    seconds. One query, reading ``ResponseChange`` by its round index and the rounds' own row,
    never the responses."""
    return Round.objects.exclude(status=Round.Status.DRAFT).filter(_changed())


def _changed():
    return Exists(ResponseChange.objects.filter(round=OuterRef("pk"))) | Q(counts_reset_at__isnull=False)


def rounds_needing_scores():
    """Rounds whose scores are behind: ``rounds_with_changes``, and open rounds with responses but
    no done run, or whose latest run failed after the last done one (its changes may be counted but
    not stored: the next run counts in full, see ``_needs_full``). The every-5-minutes beat's check:
    the test for responses may read the responses table (a round without any has no row to stop at)."""
    runs = ScoreRun.objects.filter(round=OuterRef("pk"))
    last_done = runs.filter(status=ScoreRun.Status.DONE).order_by("-started_at").values("started_at")[:1]
    rounds = Round.objects.exclude(status=Round.Status.DRAFT).annotate(watermark=Subquery(last_done))
    return rounds.filter(_changed() | (Q(status=Round.Status.OPEN) & (
        (Q(watermark__isnull=True) & Exists(Response.objects.filter(round=OuterRef("pk"))))
        | Exists(runs.filter(status=ScoreRun.Status.FAILED, started_at__gte=OuterRef("watermark"))))))


def score_runs_request_stale(*, reason: str, rounds=None) -> list[int]:
    """Queue a run of every round of ``rounds`` (default: ``rounds_needing_scores()``) that has no run
    waiting (a queued run sees every change committed before it starts). Returns the rounds queued;
    one that could not be is logged, and the next call tries it again."""
    rounds = rounds_needing_scores() if rounds is None else rounds
    waiting = ScoreRun.objects.filter(round=OuterRef("pk"), status=ScoreRun.Status.QUEUED)
    queued = []
    for round_id in rounds.exclude(Exists(waiting)).values_list("pk", flat=True):
        try:
            score_run_request(round_id=round_id, reason=reason)
        except Exception:
            logger.exception("could not queue a score run of round %s", round_id)
        else:
            queued.append(round_id)
    return queued


def score_runs_poll() -> list[int]:
    """The beat's poll, every ``SCORE_POLL_SECONDS``: queue a run of every round with changes and no
    run waiting. Returns their ids."""
    return score_runs_request_stale(reason="changes", rounds=rounds_with_changes())


# ---------------------------------------------------------------------------------------------
# Reads and tokens


def scores_for_api(*, survey_round: Round, unit: Unit, whole_round: bool = True, by: str | None = None) -> dict | None:
    """The score API's body for a unit in a round, from the stored scores; None if none are stored.

    A withheld unit (too few responses, or withheld to protect one: ``scoring.disclosure``) has n and
    the reason, never a figure: the pages' sentence (``scoring.wording``), in English as all the JSON.
    ``responses_used`` (the round's whole count) only for a reader who sees the whole round
    (``whole_round``). With ``by`` (a breakdown of ``scoring.breakdowns``), ``breakdown``: each
    cell's n and its figures, or why they are withheld (all of them for a withheld unit)."""
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
        "block": _block_for_api(survey_round, unit),
        "computed_at": score.computed_at.isoformat(),
        "responses_used": score.run.responses_used if whole_round else None,
        "run": score.run_id,
    }
    if by:
        with translation.override("en"):
            body["breakdown"] = breakdowns.unit_breakdown(survey_round=survey_round, unit=unit, key=by, language="en",
                                                          unit_shown=score.enough).api()
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


def _block_for_api(survey_round, unit):
    """The unit's block and its place there (rank null when withheld; change_places null when it
    was not ranked in the same block in the previous round); null for a unit in no block."""
    place = ranking.block_place(survey_round, unit) if unit.pk != survey_round.unit_id else None
    if place is None:
        return None
    return {"key": place.block, "rank": place.rank, "rank_of": place.rank_of, "change_places": place.change_places}


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
