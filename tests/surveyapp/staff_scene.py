"""The staff pages with something on them, for the tests that walk every page: the demo data set
(seed_demo: a province tree with a district merged away on 30/06/2025, its staff, a closed earlier
round and an open one with paper forms and scores, a kiosk), plus what the demo leaves out:
quotas (one full, so that forms arrive over quota), a revoked kiosk, a dossier list and a sample,
an excluded response, an API token and a draft round that cannot open while the current one is.

``build()`` returns the values of every URL parameter the staff pages take (``urlwalk.fill``) and
``EXTRA_PAGES``, the pages a parameter alone does not reach (a query string, another round).
"""

import datetime
import io
import uuid

from django.core.management import call_command
from django.utils import timezone

from fieldwork.exclusions import response_exclude
from fieldwork.invitations import contacts_import, invitations_create
from fieldwork.models import Invitation, Kiosk, PaperImportJob, Response, Round
from fieldwork.paper import paper_submit, paper_template_csv
from fieldwork.paper_jobs import paper_job_run
from fieldwork.quotas import quota_set
from fieldwork.sampling import dossier_list_import, sample_draw
from fieldwork.services import kiosk_create, kiosk_revoke
from questionnaires.samples import sample_answers
from scoring import breakdowns
from scoring.services import api_token_create, score_run_execute, score_run_for_command
from units.models import Unit

# The demo's staff (surveyapp/management/commands/seed_demo.py), by the role each test plays.
LOGINS = {"officer": ("officer", "sipas-officer"), "head": ("head", "sipas-head"),
          "admin": ("admin", "sipas-admin")}


def _paper_forms(survey_round, code, count, seed):
    import random

    rng = random.Random(seed)
    unit = Unit.objects.get(code=code)
    for _ in range(count):
        paper_submit(survey_round=survey_round, unit=unit, form_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                     form_date=timezone.localdate(), answers=sample_answers(survey_round.questionnaire.parsed, rng))


def _integrity_flags(survey_round, kiosk):
    """Six all-top kiosk responses 20 s apart at 21:00 yesterday, outside 02212's opening hours and
    beyond its dossiers that day, and the round checked: every kind of integrity flag, on the panel
    and in the review queue."""
    import random

    from fieldwork.integrity import integrity_check
    from fieldwork.models import DeskDay
    from questionnaires.answers import pack_answers
    from units.hours import unit_set_hours

    definition = survey_round.questionnaire.parsed
    answers = sample_answers(definition, random.Random(5))
    answers.update({code: 5 for code, value in answers.items()
                    if definition.by_code[code]["kind"] == "satisfaction" and value})
    slots = pack_answers(definition, answers).slots
    unit = kiosk.unit
    unit_set_hours(unit=unit, hours={day: [["07:30", "11:30"], ["13:30", "17:00"]] for day in range(1, 6)})
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    start = timezone.make_aware(datetime.datetime.combine(yesterday, datetime.time(21, 0)))
    for i in range(6):
        at = start + datetime.timedelta(seconds=20 * i)
        Response.objects.create(round=survey_round, unit=unit, kiosk=kiosk, channel=Response.Channel.KIOSK,
                                language="vi", submitted_at=at, received_at=at, answers=slots, seconds_taken=15)
    DeskDay.objects.update_or_create(unit=unit, day=yesterday, defaults={"dossiers": 2})
    integrity_check(survey_round=survey_round)


def build() -> dict:
    """The scene, in the current database; the URL parameters of its pages."""
    call_command("seed_demo", "--force", stdout=io.StringIO())
    current = Round.objects.get(unit__code="08", status=Round.Status.OPEN)
    province = Unit.objects.get(code="08")
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.get(username="admin")
    # Quotas: the centre of Sơn Dương is full after one form, so the next ones arrive over quota.
    quota_set(survey_round=current, unit=province, target=2000)
    quota_set(survey_round=current, unit=Unit.objects.get(code="02212"), target=80, stratum_item="E.FIELD",
              stratum_value="land")
    quota_set(survey_round=current, unit=Unit.objects.get(code="02212.TTPV"), target=1)
    _paper_forms(current, "02212.TTPV", 3, seed=17)
    # A revoked kiosk beside the demo's paired one.
    revoked, _code = kiosk_create(unit=Unit.objects.get(code="02230"), name="Quầy cũ")
    kiosk_revoke(kiosk=revoked)
    # The sampling frame: a dossier list of the current round and one sample drawn from it.
    lines = ["dossier_code,unit_code,service_field,completed_on"]
    fields = ["land", "construction", "justice", "business_registration"]
    day = timezone.localdate() - datetime.timedelta(days=3)
    for i, code in enumerate(["02212", "02230", "02251", "02263", "02275", "08.STP", "02212.TTPV"] * 12):
        lines.append(f"HS-{i:05d},{code},{fields[i % len(fields)]},{day.isoformat()}")
    dossiers = dossier_list_import(survey_round=current, name="Hồ sơ tháng này", user=admin,
                                   text="\n".join(lines) + "\n")
    sample = sample_draw(dossier_list=dossiers, size=20, seed=1234567, user=admin)
    # Invitations to answer at home for the sample, two with contacts, one of them failed.
    invitations_create(sample=sample)
    invited = list(sample.members.order_by("position").values_list("dossier__code", flat=True)[:2])
    contacts_import(survey_round=current, text=f"dossier_code,phone,email\n{invited[0]},0912345678,\n"
                                               f"{invited[1]},,lan@example.vn\n")
    Invitation.objects.filter(round=current, dossier__code=invited[1]).update(
        channel="email", queued_at=timezone.now(), failed_at=timezone.now(), failure="SMTP 550: No such user")
    # An excluded response, and the scores again (with the quota rule and the list).
    excluded = Response.objects.filter(round=current, unit__code="02230").order_by("id").first()
    response_exclude(response=excluded, reason="duplicate", note="", user=admin)
    run = score_run_execute(run_id=score_run_for_command(round_id=current.pk).pk)
    assert run.status == "done", run.error
    assert not breakdowns.count_now(current).error  # the cells that follow the run
    token, _key = api_token_create(user=admin, name="Cổng dữ liệu tỉnh")
    # A draft round over a commune of the open round: opening it is refused while the round is open.
    draft = Round.objects.create(name="Đợt bổ sung", questionnaire=current.questionnaire,
                                 unit=Unit.objects.get(code="02230"))
    earlier = Round.objects.get(unit__code="08", status=Round.Status.CLOSED)
    kiosk = Kiosk.objects.get(unit__code="02212", name="Quầy 1", revoked_at__isnull=True)
    officer_role = get_user_model().objects.get(username="officer").unit_roles.get()
    # Paper import jobs of a large file: one waiting for the worker, one the worker rejected.
    header = paper_template_csv(survey_round=current)
    job = PaperImportJob.objects.create(round=current, user=admin, content=header + "02212,2020-01-01,\n", rows=1)
    rejected = PaperImportJob.objects.create(round=current, user=admin, rows=2,
                                             content=header + "02212,2020-01-01,\n99999,,\n")
    paper_job_run(job_id=rejected.pk)
    _integrity_flags(current, kiosk)
    return {
        "values": {
            "round_id": current.pk, "code": "08", "unit_code": "02212", "kiosk_id": kiosk.pk,
            "list_id": dossiers.pk, "sample_id": sample.pk, "response_id": excluded.pk, "token_id": token.pk,
            "user_id": officer_role.user_id, "role_id": officer_role.pk,
            "job_id": job.pk,
        },
        "current": current, "earlier": earlier, "draft": draft, "kiosk": kiosk, "revoked": revoked,
        "dossiers": dossiers, "excluded": excluded, "rejected_job": rejected,
    }


def extra_pages(scene) -> list[str]:
    """Pages that URL parameters alone do not reach: other rounds, other units, query strings."""
    current, earlier, draft = scene["current"].pk, scene["earlier"].pk, scene["draft"].pk
    return [
        f"/rounds/{draft}/", f"/rounds/{earlier}/", f"/rounds/{earlier}/quotas/",
        f"/scores/{current}/08/", f"/scores/{current}/02263/", f"/scores/{current}/08/report/",
        f"/scores/{current}/?unit=02212", f"/scores/{earlier}/08/",
        f"/scores/{current}/08/?by=gender", f"/scores/{current}/02212/?by=collection_channel",  # breakdowns
        f"/rounds/{current}/quotas/allocate?by=unit&total=300&minimum=10",
        f"/rounds/{current}/quotas/allocate?by=unit_field&total=300&dossier_list={scene['dossiers'].pk}",
        f"/rounds/{current}/quotas/?lagging=1",
        f"/kiosks/{scene['kiosk'].pk}/revoke", f"/rounds/{current}/close",
        f"/rounds/{current}/paper/import/{scene['rejected_job'].pk}",
        "/units/02212/rounds/", "/units/02212/kiosks/", "/units/076/",
        f"/rounds/{current}/review/?flag=burst&kiosk={scene['kiosk'].pk}", "/administration/units/02212/hours",
        # A questionnaire version's pages (their <code> is a version's, not a unit's).
        f"/administration/questionnaires/{scene['current'].questionnaire.code}/",
        f"/administration/questionnaires/{scene['current'].questionnaire.code}/preview/",
    ]


def staff_urls(scene) -> list[str]:
    """Every staff page of the URL patterns (tests/surveyapp/pages.py) with the scene's parameters,
    then the extra pages. A pattern with a parameter the scene has no value for fails here: give it
    one in ``build()``, so that the new page is walked too."""
    from tests.security import urlwalk
    from tests.surveyapp import pages

    urls = []
    for name, route in pages.staff_routes():
        try:
            urls.append(urlwalk.fill(route, scene["values"]))
        except urlwalk.UnknownParameter as exc:
            raise AssertionError(f"{name}: {exc} (tests/surveyapp/staff_scene.py)") from None
    return urls + extra_pages(scene)
