"""Fixtures shared by the invitations' tests (sending, delivery reports, progress): the local gateway
and SMTP servers with the settings that send to them, and a round with 30 sampled invitations."""

import pytest
from django.test import override_settings

from fieldwork.invitations import invitations_create
from fieldwork.sampling import dossier_list_import, sample_draw
from fieldwork.services import round_create
from questionnaires.services import definition_files, questionnaire_load_file
from tests.base import make_unit, make_user
from tests.fieldwork.gateways import gateway_settings, http_gateway, smtp_server
from tests.fieldwork.test_invitations import FRAME, HEADER
from units.models import Role, Unit


@pytest.fixture
def gateway():
    with http_gateway() as server, gateway_settings(server):
        yield server


@pytest.fixture
def smtp():
    with smtp_server() as server, override_settings(EMAIL_HOST="127.0.0.1", EMAIL_PORT=server.port,
                                                    DEFAULT_FROM_EMAIL="khaosat@tuyenquang.gov.vn"):
        yield server


@pytest.fixture
def sampled_round(db):
    province = make_unit("08", level=Unit.Level.PROVINCE, name="Tỉnh Tuyên Quang")
    make_unit("02212", province, name="Xã Sơn Dương")
    make_unit("02230", province, name="Phường Minh Xuân")
    for path in definition_files():
        questionnaire_load_file(path=path)
    survey_round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    officer = make_user("province_officer", (Role.Kind.OFFICER, province))
    dossier_list = dossier_list_import(survey_round=survey_round, name="Hồ sơ", user=officer,
                                       text="\n".join([HEADER, *FRAME]) + "\n")
    invitations_create(sample=sample_draw(dossier_list=dossier_list, size=30, seed=7, strata=(), user=officer))
    return survey_round
