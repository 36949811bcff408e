from celery import shared_task

from scoring import breakdowns, services


@shared_task(name=services.RECOMPUTE_TASK)
def recompute_round(run_id):
    """Compute a queued score run (a second delivery of the same run does nothing)."""
    run = services.score_run_execute(run_id=run_id)
    return run and run.status


@shared_task
def poll_changes():
    """Beat, every SCORE_POLL_SECONDS: queue a run of every round whose responses changed (fieldwork's
    change log) and that has none waiting, and send the breakdown counts that are due."""
    return {"requested": services.score_runs_poll(), "breakdowns": breakdowns.counts_poll()}


@shared_task(name=breakdowns.COUNT_TASK)
def count_breakdowns(round_id, claim):
    """Count a round's breakdown cells for the poll's claim (a stale or repeated delivery does nothing)."""
    count = breakdowns.count_claimed(round_id, claim)
    return count and {"responses": count.responses, "seconds": round(count.seconds, 2), "error": bool(count.error)}


@shared_task
def recompute_open_rounds():
    """Beat: fail runs of lost workers, enqueue again runs whose task was lost, and queue a run of
    every round whose scores are behind."""
    failed, enqueued = services.score_runs_reap()
    return {"reaped": failed, "re-enqueued": enqueued, "requested": services.score_runs_request_stale(reason="beat")}
