"""What every drill starts from: both questionnaires, province 08 with commune 02212, an open round
over the province and a kiosk at the commune with its device token."""

from fieldwork.services import kiosk_create, kiosk_issue_token, round_create
from questionnaires.services import definition_files, questionnaire_load_file
from tests.base import make_unit
from units.models import Unit


def drill_round():
    """(round, commune, kiosk, token), in the test database."""
    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE)
    commune = make_unit("02212", province)
    survey_round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    kiosk, _ = kiosk_create(unit=commune, name="Quầy 1")
    return survey_round, commune, kiosk, kiosk_issue_token(kiosk=kiosk)
